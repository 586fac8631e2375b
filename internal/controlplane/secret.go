package controlplane

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SecretFile is the name of the per-installation secret in the data dir.
const SecretFile = "secret.key"

// LoadSecret returns the 32-byte key that seals endpoint keys. A non-empty
// env (MAAS_SECRET_KEY) is hashed with SHA-256 into the key. Otherwise the
// key is read from <dataDir>/secret.key (64 hex digits), which is created
// with mode 0600 from crypto/rand on first use.
func LoadSecret(dataDir, env string) ([]byte, error) {
	if env != "" {
		k := sha256.Sum256([]byte(env))
		return k[:], nil
	}
	path := filepath.Join(dataDir, SecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("read secret %s: want 64 hex digits", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create secret: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write secret: %w", err)
	}
	return k, nil
}

func newSealer(secret []byte) (cipher.AEAD, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("secret must be 32 bytes, got %d", len(secret))
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal encrypts an endpoint key with AES-GCM; aad binds it to its endpoint
// and slot so sealed keys cannot be swapped between rows. Output: nonce||ciphertext.
func (cp *ControlPlane) seal(key, aad string) ([]byte, error) {
	nonce := make([]byte, cp.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	return cp.aead.Seal(nonce, nonce, []byte(key), []byte(aad)), nil
}

func (cp *ControlPlane) open(sealed []byte, aad string) (string, error) {
	n := cp.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("open key: sealed value too short")
	}
	plain, err := cp.aead.Open(nil, sealed[:n], sealed[n:], []byte(aad))
	if err != nil {
		return "", fmt.Errorf("open key (wrong secret?): %w", err)
	}
	return string(plain), nil
}

// KeyLength is the length of an endpoint key in characters.
const KeyLength = 32

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters of keyAlphabet from crypto/rand,
// without modulo bias.
func randomString(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		for _, b := range buf {
			if int(b) < 256-256%len(keyAlphabet) && len(out) < n {
				out = append(out, keyAlphabet[int(b)%len(keyAlphabet)])
			}
		}
	}
	return string(out), nil
}

// validKey reports whether s could be an endpoint key.
func validKey(s string) bool {
	if len(s) != KeyLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(keyAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

func randomID(prefix string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
