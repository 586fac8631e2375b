//go:build !purego

#include "textflag.h"

// Horizontal sum of the 8 floats of y into the low float of x (x is y's low half); t is scratch.
#define HSUM(y, x, t) \
	VEXTRACTF128 $1, y, t; \
	VADDPS t, x, x; \
	VPSHUFD $0x4E, x, t; \
	VADDPS t, x, x; \
	VMOVSHDUP x, t; \
	VADDSS t, x, x

// dst (8 floats) = f16(woff(SI)) * f16(aoff(DI)). Clobbers AX, BX, X6, X7.
#define SCALE(woff, aoff, dst) \
	MOVWLZX woff(SI), AX; \
	MOVWLZX aoff(DI), BX; \
	SHLL $16, BX; \
	ORL BX, AX; \
	VMOVD AX, X6; \
	VCVTPH2PS X6, X6; \
	VMOVSHDUP X6, X7; \
	VMULSS X7, X6, X6; \
	VBROADCASTSS X6, dst

// acc += scale * Σ_pairs(Y2 * Y3) for int8 Y2 (weights) and Y3 (activations, never -128).
// Y15 holds int16 ones. Clobbers Y4, Y5.
#define DOT_I8(acc) \
	VPSIGNB Y2, Y2, Y4; \
	VPSIGNB Y2, Y3, Y5; \
	VPMADDUBSW Y5, Y4, Y4; \
	VPMADDWD Y15, Y4, Y4; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y6, Y4, acc

#define Q8_0_BLOCK(off, acc) \
	VMOVDQU off+2(SI), Y2; \
	VMOVDQU off+2(DI), Y3; \
	SCALE(off, off, Y6); \
	DOT_I8(acc)

// func dotQ8_0AVX2(nb int, w, a *byte) float32
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

q80loop:
	CMPQ CX, $2
	JB q80tail
	Q8_0_BLOCK(0, Y0)
	Q8_0_BLOCK(34, Y1)
	ADDQ $68, SI
	ADDQ $68, DI
	SUBQ $2, CX
	JMP q80loop

q80tail:
	TESTQ CX, CX
	JZ q80done
	Q8_0_BLOCK(0, Y0)

q80done:
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

#define Q4_0_BLOCK(woff, aoff, acc) \
	VMOVDQU woff+2(SI), X2; \
	VPSRLW $4, X2, X3; \
	VINSERTI128 $1, X3, Y2, Y2; \
	VPAND Y14, Y2, Y2; \
	VPSUBB Y13, Y2, Y2; \
	VMOVDQU aoff+2(DI), Y3; \
	SCALE(woff, aoff, Y6); \
	DOT_I8(acc)

// func dotQ4_0AVX2(nb int, w, a *byte) float32
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15
	VMOVDQU nib<>(SB), Y14
	VMOVDQU eight<>(SB), Y13

q40loop:
	CMPQ CX, $2
	JB q40tail
	Q4_0_BLOCK(0, 0, Y0)
	Q4_0_BLOCK(18, 34, Y1)
	ADDQ $36, SI
	ADDQ $68, DI
	SUBQ $2, CX
	JMP q40loop

q40tail:
	TESTQ CX, CX
	JZ q40done
	Q4_0_BLOCK(0, 0, Y0)

q40done:
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// K-quant scale unpacking. Reads the 12 packed bytes at 4(SI); leaves the 8
// 6-bit scales as int16 in both lanes of Y1 and the 8 mins as int16 in X2.
// Clobbers AX, BX, DX, R8-R11.
#define K4_SCALES \
	MOVL 4(SI), AX; \
	MOVL 8(SI), BX; \
	MOVL 12(SI), DX; \
	MOVL DX, R8; \
	SHRL $4, R8; \
	ANDL $0x0f0f0f0f, R8; \
	MOVL BX, R9; \
	SHRL $6, R9; \
	ANDL $0x03030303, R9; \
	SHLL $4, R9; \
	ORL R9, R8; \
	MOVL BX, R10; \
	ANDL $0x3f3f3f3f, R10; \
	MOVL DX, R11; \
	ANDL $0x0f0f0f0f, R11; \
	MOVL AX, R9; \
	SHRL $6, R9; \
	ANDL $0x03030303, R9; \
	SHLL $4, R9; \
	ORL R9, R11; \
	ANDL $0x3f3f3f3f, AX; \
	SHLQ $32, R11; \
	ORQ R11, AX; \
	SHLQ $32, R8; \
	ORQ R8, R10; \
	VMOVQ AX, X1; \
	VPMOVZXBW X1, X1; \
	VINSERTI128 $1, X1, Y1, Y1; \
	VMOVQ R10, X2; \
	VPMOVZXBW X2, X2

// Mins term and super-block scales for Q4_K/Q5_K: Y10 -= dmin*dy*Σ m*bsums;
// Y8 = d*dy (8 lanes). Uses X2 (mins); clobbers Y3-Y5, Y9.
#define K4_MINS \
	VPUNPCKLWD X2, X2, X3; \
	VPUNPCKHWD X2, X2, X4; \
	VINSERTI128 $1, X4, Y3, Y3; \
	VPMADDWD 260(DI), Y3, Y3; \
	VCVTDQ2PS Y3, Y3; \
	VMOVD (SI), X5; \
	VCVTPH2PS X5, X5; \
	VBROADCASTSS (DI), X4; \
	VMULPS X4, X5, X5; \
	VBROADCASTSS X5, Y8; \
	VMOVSHDUP X5, X5; \
	VBROADCASTSS X5, Y9; \
	VFNMADD231PS Y9, Y3, Y10

// Y12 += sc[2h]*Σ(Y4*a[aoff:]) + sc[2h+1]*Σ(Y5*a[aoff+32:]) for 4/5-bit
// unsigned Y4, Y5. m0, m1: shufK masks of the two sub-blocks.
#define K4_ACC(aoff, m0, m1) \
	VPMADDUBSW aoff(DI), Y4, Y4; \
	VPMADDUBSW aoff+32(DI), Y5, Y5; \
	VPSHUFB m0, Y1, Y6; \
	VPSHUFB m1, Y1, Y7; \
	VPMADDWD Y6, Y4, Y4; \
	VPMADDWD Y7, Y5, Y5; \
	VPADDD Y4, Y12, Y12; \
	VPADDD Y5, Y12, Y12

#define Q4K_HALF(qoff, aoff, m0, m1) \
	VMOVDQU qoff(SI), Y4; \
	VPSRLW $4, Y4, Y5; \
	VPAND Y14, Y4, Y4; \
	VPAND Y14, Y5, Y5; \
	K4_ACC(aoff, m0, m1)

// func dotQ4_KAVX2(nb int, w, a *byte) float32
TEXT ·dotQ4_KAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VXORPS Y10, Y10, Y10
	VMOVDQU nib<>(SB), Y14

q4kloop:
	K4_SCALES
	K4_MINS
	VPXOR Y12, Y12, Y12
	Q4K_HALF(16, 4, shufK<>+0(SB), shufK<>+32(SB))
	Q4K_HALF(48, 68, shufK<>+64(SB), shufK<>+96(SB))
	Q4K_HALF(80, 132, shufK<>+128(SB), shufK<>+160(SB))
	Q4K_HALF(112, 196, shufK<>+192(SB), shufK<>+224(SB))
	VCVTDQ2PS Y12, Y12
	VFMADD231PS Y8, Y12, Y10
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4kloop

	HSUM(Y10, X10, X11)
	VZEROUPPER
	MOVSS X10, ret+24(FP)
	RET

// Q5_K half: Y2/Y3 hold qh shifted so that the 5th bits of the low/high
// nibble values sit at bit 4 of each byte.
#define Q5K_HALF(qoff, aoff, m0, m1) \
	VMOVDQU qoff(SI), Y4; \
	VPSRLW $4, Y4, Y5; \
	VPAND Y14, Y4, Y4; \
	VPAND Y14, Y5, Y5; \
	VPAND Y13, Y2, Y2; \
	VPAND Y13, Y3, Y3; \
	VPOR Y2, Y4, Y4; \
	VPOR Y3, Y5, Y5; \
	K4_ACC(aoff, m0, m1)

// func dotQ5_KAVX2(nb int, w, a *byte) float32
TEXT ·dotQ5_KAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VXORPS Y10, Y10, Y10
	VMOVDQU nib<>(SB), Y14
	VMOVDQU m10<>(SB), Y13

q5kloop:
	K4_SCALES
	K4_MINS
	VPXOR Y12, Y12, Y12
	VMOVDQU 16(SI), Y11
	VPSLLW $4, Y11, Y2
	VPSLLW $3, Y11, Y3
	Q5K_HALF(48, 4, shufK<>+0(SB), shufK<>+32(SB))
	VPSLLW $2, Y11, Y2
	VPSLLW $1, Y11, Y3
	Q5K_HALF(80, 68, shufK<>+64(SB), shufK<>+96(SB))
	VMOVDQU Y11, Y2
	VPSRLW $1, Y11, Y3
	Q5K_HALF(112, 132, shufK<>+128(SB), shufK<>+160(SB))
	VPSRLW $2, Y11, Y2
	VPSRLW $3, Y11, Y3
	Q5K_HALF(144, 196, shufK<>+192(SB), shufK<>+224(SB))
	VCVTDQ2PS Y12, Y12
	VFMADD231PS Y8, Y12, Y10
	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q5kloop

	HSUM(Y10, X10, X11)
	VZEROUPPER
	MOVSS X10, ret+24(FP)
	RET

// One 6-bit value vector: Y2 = (lo & 15) | (hi & 0x30), then
// Y12 += Σ scale pair * Σ(Y2 * a[aoff:]).
#define Q6K_ACC(aoff, mask, sc) \
	VPAND Y13, Y3, Y3; \
	VPOR Y3, Y2, Y2; \
	VPMADDUBSW aoff(DI), Y2, Y2; \
	VPSHUFB mask, sc, Y3; \
	VPMADDWD Y3, Y2, Y2; \
	VPADDD Y2, Y12, Y12

// 128 values: ql at qloff, qh at qhoff, activations at aoff; sc holds the 8
// scales of this half as int16 in both lanes.
#define Q6K_HALF(qloff, qhoff, aoff, sc) \
	VMOVDQU qloff(SI), Y4; \
	VMOVDQU qloff+32(SI), Y5; \
	VMOVDQU qhoff(SI), Y6; \
	VPAND Y14, Y4, Y2; \
	VPSLLW $4, Y6, Y3; \
	Q6K_ACC(aoff, shufQ6<>+0(SB), sc); \
	VPAND Y14, Y5, Y2; \
	VPSLLW $2, Y6, Y3; \
	Q6K_ACC(aoff+32, shufQ6<>+32(SB), sc); \
	VPSRLW $4, Y4, Y2; \
	VPAND Y14, Y2, Y2; \
	VMOVDQU Y6, Y3; \
	Q6K_ACC(aoff+64, shufQ6<>+64(SB), sc); \
	VPSRLW $4, Y5, Y2; \
	VPAND Y14, Y2, Y2; \
	VPSRLW $2, Y6, Y3; \
	Q6K_ACC(aoff+96, shufQ6<>+96(SB), sc)

// func dotQ6_KAVX2(nb int, w, a *byte) float32
TEXT ·dotQ6_KAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VXORPS Y10, Y10, Y10
	VMOVDQU nib<>(SB), Y14
	VMOVDQU m30<>(SB), Y13

q6kloop:
	VPMOVSXBW 192(SI), Y1
	VPMADDWD 260(DI), Y1, Y2
	VPSLLD $5, Y2, Y2
	VPXOR Y12, Y12, Y12
	VPSUBD Y2, Y12, Y12
	VPERM2I128 $0x00, Y1, Y1, Y9
	Q6K_HALF(0, 128, 4, Y9)
	VPERM2I128 $0x11, Y1, Y1, Y9
	Q6K_HALF(64, 160, 132, Y9)
	MOVWLZX 208(SI), AX
	VMOVD AX, X5
	VCVTPH2PS X5, X5
	VMULSS (DI), X5, X5
	VBROADCASTSS X5, Y8
	VCVTDQ2PS Y12, Y12
	VFMADD231PS Y8, Y12, Y10
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q6kloop

	HSUM(Y10, X10, X11)
	VZEROUPPER
	MOVSS X10, ret+24(FP)
	RET

// func dotF16AVX2(n int, w, a *byte) float32
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	SHRQ $5, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f16loop:
	VCVTPH2PS (SI), Y4
	VCVTPH2PS (DI), Y5
	VFMADD231PS Y5, Y4, Y0
	VCVTPH2PS 16(SI), Y6
	VCVTPH2PS 16(DI), Y7
	VFMADD231PS Y7, Y6, Y1
	VCVTPH2PS 32(SI), Y4
	VCVTPH2PS 32(DI), Y5
	VFMADD231PS Y5, Y4, Y2
	VCVTPH2PS 48(SI), Y6
	VCVTPH2PS 48(DI), Y7
	VFMADD231PS Y7, Y6, Y3
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ f16loop

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// Read-only constants of the AVX2 kernels.
// nib: 0x0f bytes; eight: 0x08; m10: 0x10; m30: 0x30.
// shufK: 8 VPSHUFB masks, mask j broadcasts int16 word j in both lanes.
// shufQ6: 4 masks, mask r broadcasts word 2r in the low lane and word 2r+1 in the high lane.

DATA nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nib<>(SB), RODATA|NOPTR, $32

DATA eight<>+0(SB)/8, $0x0808080808080808
DATA eight<>+8(SB)/8, $0x0808080808080808
DATA eight<>+16(SB)/8, $0x0808080808080808
DATA eight<>+24(SB)/8, $0x0808080808080808
GLOBL eight<>(SB), RODATA|NOPTR, $32

DATA m10<>+0(SB)/8, $0x1010101010101010
DATA m10<>+8(SB)/8, $0x1010101010101010
DATA m10<>+16(SB)/8, $0x1010101010101010
DATA m10<>+24(SB)/8, $0x1010101010101010
GLOBL m10<>(SB), RODATA|NOPTR, $32

DATA m30<>+0(SB)/8, $0x3030303030303030
DATA m30<>+8(SB)/8, $0x3030303030303030
DATA m30<>+16(SB)/8, $0x3030303030303030
DATA m30<>+24(SB)/8, $0x3030303030303030
GLOBL m30<>(SB), RODATA|NOPTR, $32

DATA shufK<>+0(SB)/8, $0x0100010001000100
DATA shufK<>+8(SB)/8, $0x0100010001000100
DATA shufK<>+16(SB)/8, $0x0100010001000100
DATA shufK<>+24(SB)/8, $0x0100010001000100
DATA shufK<>+32(SB)/8, $0x0302030203020302
DATA shufK<>+40(SB)/8, $0x0302030203020302
DATA shufK<>+48(SB)/8, $0x0302030203020302
DATA shufK<>+56(SB)/8, $0x0302030203020302
DATA shufK<>+64(SB)/8, $0x0504050405040504
DATA shufK<>+72(SB)/8, $0x0504050405040504
DATA shufK<>+80(SB)/8, $0x0504050405040504
DATA shufK<>+88(SB)/8, $0x0504050405040504
DATA shufK<>+96(SB)/8, $0x0706070607060706
DATA shufK<>+104(SB)/8, $0x0706070607060706
DATA shufK<>+112(SB)/8, $0x0706070607060706
DATA shufK<>+120(SB)/8, $0x0706070607060706
DATA shufK<>+128(SB)/8, $0x0908090809080908
DATA shufK<>+136(SB)/8, $0x0908090809080908
DATA shufK<>+144(SB)/8, $0x0908090809080908
DATA shufK<>+152(SB)/8, $0x0908090809080908
DATA shufK<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufK<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufK<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufK<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufK<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufK<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufK<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufK<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufK<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA shufK<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA shufK<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA shufK<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL shufK<>(SB), RODATA|NOPTR, $256

DATA shufQ6<>+0(SB)/8, $0x0100010001000100
DATA shufQ6<>+8(SB)/8, $0x0100010001000100
DATA shufQ6<>+16(SB)/8, $0x0302030203020302
DATA shufQ6<>+24(SB)/8, $0x0302030203020302
DATA shufQ6<>+32(SB)/8, $0x0504050405040504
DATA shufQ6<>+40(SB)/8, $0x0504050405040504
DATA shufQ6<>+48(SB)/8, $0x0706070607060706
DATA shufQ6<>+56(SB)/8, $0x0706070607060706
DATA shufQ6<>+64(SB)/8, $0x0908090809080908
DATA shufQ6<>+72(SB)/8, $0x0908090809080908
DATA shufQ6<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufQ6<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufQ6<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufQ6<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufQ6<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA shufQ6<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL shufQ6<>(SB), RODATA|NOPTR, $128
