//go:build !linux

package kernels

import "time"

func threadCPU() time.Duration { return 0 }

const haveThreadCPU = false
