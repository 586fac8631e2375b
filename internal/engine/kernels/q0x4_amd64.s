//go:build !purego

#include "textflag.h"

DATA q0x80<>+0(SB)/8, $0x8080808080808080
DATA q0x80<>+8(SB)/8, $0x8080808080808080
DATA q0x80<>+16(SB)/8, $0x8080808080808080
DATA q0x80<>+24(SB)/8, $0x8080808080808080
GLOBL q0x80<>(SB), RODATA|NOPTR, $32

// Q8_0 weights (one row) times 4 Q8_0 activation rows
// with AVX-512 VNNI on 512-bit vectors: Z0 holds the block's 32 unsigned
// weight values twice, each Z register of activations holds one block of
// two activation rows. Per block and pair, float(Σ u*a) * dw is added with
// the precomputed activation scales da (16 floats per pair: 8 lanes each);
// the unsigned offset (128) is removed at the end via
// corr -= dw * k[b] (k[b][i] = offset * da_i * Σ a_i, 4 floats per block).

// Block loop body after Z0 (weights) and Z2 (dw broadcast) are set.
#define Q0X4_PAIRS(aoff) \
	VFNMADD231PS (R11), X2, X18; \
	VMOVDQU aoff(DI), Y3; \
	VINSERTI64X4 $1, aoff(DI)(R8*1), Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPDPBUSD Z3, Z0, Z4; \
	VCVTDQ2PS Z4, Z4; \
	VMULPS Z2, Z4, Z4; \
	VFMADD231PS (R10), Z4, Z16; \
	VMOVDQU aoff(DI)(R8*2), Y5; \
	VINSERTI64X4 $1, aoff(R9), Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPDPBUSD Z5, Z0, Z6; \
	VCVTDQ2PS Z6, Z6; \
	VMULPS Z2, Z6, Z6; \
	VFMADD231PS 64(R10), Z6, Z17

#define DW_BCAST \
	MOVWLZX (SI), AX; \
	VMOVD AX, X2; \
	VCVTPH2PS X2, X2; \
	VBROADCASTSS X2, Z2

// out[0:4] = horizontal sums of the 4 act lanes groups of Z16/Z17 + X18.
#define Q0X4_STORE \
	MOVQ out+48(FP), DX; \
	VMOVAPS Y16, Y0; \
	VEXTRACTF64X4 $1, Z16, Y1; \
	VMOVAPS Y17, Y2; \
	VEXTRACTF64X4 $1, Z17, Y3; \
	VHADDPS Y1, Y0, Y0; \
	VHADDPS Y3, Y2, Y2; \
	VHADDPS Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VADDPS X18, X0, X0; \
	VMOVUPS X0, (DX); \
	VZEROUPPER; \
	RET

#define Q0X4_PROLOGUE \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ a+16(FP), DI; \
	MOVQ aStride+24(FP), R8; \
	MOVQ da+32(FP), R10; \
	MOVQ k+40(FP), R11; \
	LEAQ (DI)(R8*2), R9; \
	ADDQ R8, R9; \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD X18, X18, X18

// func dotQ8_0x4VNNI(nb int, w, a *byte, aStride int, da, k *float32, out *float32)
TEXT ·dotQ8_0x4VNNI(SB), NOSPLIT, $0-56
	Q0X4_PROLOGUE
	VMOVDQU q0x80<>(SB), Y9

q80x4loop:
	VMOVDQU 2(SI), Y0
	VPXOR Y9, Y0, Y0
	VINSERTI64X4 $1, Y0, Z0, Z0
	DW_BCAST
	Q0X4_PAIRS(2)
	ADDQ $34, SI
	ADDQ $34, DI
	ADDQ $34, R9
	ADDQ $128, R10
	ADDQ $16, R11
	DECQ CX
	JNZ q80x4loop
	Q0X4_STORE
