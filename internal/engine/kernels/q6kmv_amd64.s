//go:build !purego

#include "textflag.h"

// Q6_K weights x one Q8_K activation row, row by row (AVX-512 VNNI). The
// integer sum of each super-block is exact in any order: per row and
// super-block the 256 6-bit values are unpacked into 4 vectors of bytes q in
// [0, 63], VPMADDUBSW pairs them with the activation bytes, VPDPWSSD applies
// the sub-block scales, and 32*Σ_g sc_g*bsum_g is subtracted (q-32). The
// float epilogue is matMulQ6_Kx16x16's, element by element: t = d*da,
// p = float32(I)*t, per chunk of span super-blocks c = ((0+p_0)+p_1)+...,
// out = c_0 + c_1 + ... .

// q6mshl/q6mshr: word shift counts moving qh bits 2r..2r+1 to bits 4-5
// (values 0-31: <<4, 32-63: <<2; 64-95: >>0, 96-127: >>2).
DATA q6mshl<>+0(SB)/8, $0x0004000400040004
DATA q6mshl<>+8(SB)/8, $0x0004000400040004
DATA q6mshl<>+16(SB)/8, $0x0004000400040004
DATA q6mshl<>+24(SB)/8, $0x0004000400040004
DATA q6mshl<>+32(SB)/8, $0x0002000200020002
DATA q6mshl<>+40(SB)/8, $0x0002000200020002
DATA q6mshl<>+48(SB)/8, $0x0002000200020002
DATA q6mshl<>+56(SB)/8, $0x0002000200020002
GLOBL q6mshl<>(SB), RODATA|NOPTR, $64

DATA q6mshr<>+0(SB)/8, $0x0000000000000000
DATA q6mshr<>+8(SB)/8, $0x0000000000000000
DATA q6mshr<>+16(SB)/8, $0x0000000000000000
DATA q6mshr<>+24(SB)/8, $0x0000000000000000
DATA q6mshr<>+32(SB)/8, $0x0002000200020002
DATA q6mshr<>+40(SB)/8, $0x0002000200020002
DATA q6mshr<>+48(SB)/8, $0x0002000200020002
DATA q6mshr<>+56(SB)/8, $0x0002000200020002
GLOBL q6mshr<>(SB), RODATA|NOPTR, $64

// q6mpw: VPERMW indices, vector j word k = scale 4j+k/8 (values 64j+2k, +1).
DATA q6mpw<>+0(SB)/8, $0x0000000000000000
DATA q6mpw<>+8(SB)/8, $0x0000000000000000
DATA q6mpw<>+16(SB)/8, $0x0001000100010001
DATA q6mpw<>+24(SB)/8, $0x0001000100010001
DATA q6mpw<>+32(SB)/8, $0x0002000200020002
DATA q6mpw<>+40(SB)/8, $0x0002000200020002
DATA q6mpw<>+48(SB)/8, $0x0003000300030003
DATA q6mpw<>+56(SB)/8, $0x0003000300030003
DATA q6mpw<>+64(SB)/8, $0x0004000400040004
DATA q6mpw<>+72(SB)/8, $0x0004000400040004
DATA q6mpw<>+80(SB)/8, $0x0005000500050005
DATA q6mpw<>+88(SB)/8, $0x0005000500050005
DATA q6mpw<>+96(SB)/8, $0x0006000600060006
DATA q6mpw<>+104(SB)/8, $0x0006000600060006
DATA q6mpw<>+112(SB)/8, $0x0007000700070007
DATA q6mpw<>+120(SB)/8, $0x0007000700070007
DATA q6mpw<>+128(SB)/8, $0x0008000800080008
DATA q6mpw<>+136(SB)/8, $0x0008000800080008
DATA q6mpw<>+144(SB)/8, $0x0009000900090009
DATA q6mpw<>+152(SB)/8, $0x0009000900090009
DATA q6mpw<>+160(SB)/8, $0x000a000a000a000a
DATA q6mpw<>+168(SB)/8, $0x000a000a000a000a
DATA q6mpw<>+176(SB)/8, $0x000b000b000b000b
DATA q6mpw<>+184(SB)/8, $0x000b000b000b000b
DATA q6mpw<>+192(SB)/8, $0x000c000c000c000c
DATA q6mpw<>+200(SB)/8, $0x000c000c000c000c
DATA q6mpw<>+208(SB)/8, $0x000d000d000d000d
DATA q6mpw<>+216(SB)/8, $0x000d000d000d000d
DATA q6mpw<>+224(SB)/8, $0x000e000e000e000e
DATA q6mpw<>+232(SB)/8, $0x000e000e000e000e
DATA q6mpw<>+240(SB)/8, $0x000f000f000f000f
DATA q6mpw<>+248(SB)/8, $0x000f000f000f000f
GLOBL q6mpw<>(SB), RODATA|NOPTR, $256

// q6mpd: VPERMD indices putting super-block b's sum (at dword 4(b%4)+b/4
// after the reduction tree) at dword b.
DATA q6mpd<>+0(SB)/8, $0x0000000400000000
DATA q6mpd<>+8(SB)/8, $0x0000000c00000008
DATA q6mpd<>+16(SB)/8, $0x0000000500000001
DATA q6mpd<>+24(SB)/8, $0x0000000d00000009
DATA q6mpd<>+32(SB)/8, $0x0000000600000002
DATA q6mpd<>+40(SB)/8, $0x0000000e0000000a
DATA q6mpd<>+48(SB)/8, $0x0000000700000003
DATA q6mpd<>+56(SB)/8, $0x0000000f0000000b
GLOBL q6mpd<>(SB), RODATA|NOPTR, $64

// Scratch: S at 0 (per super-block 4 int32 partial sums), D16 at 4096
// (F16 d per super-block), P at 4608 (float32 products per super-block).

// func matVecQ6_KRows(nb int, w *byte, rowBytes int, rows int, a *byte, da *float32, span int, scr *byte, out *float32)
TEXT ·matVecQ6_KRows(SB), NOSPLIT, $0-72
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ rowBytes+16(FP), R8
	MOVQ rows+24(FP), BX
	MOVQ a+32(FP), DI
	MOVQ da+40(FP), R11
	MOVQ span+48(FP), DX
	MOVQ scr+56(FP), R10
	MOVQ out+64(FP), R13
	MOVL $0x0f0f0f0f, R9
	VPBROADCASTD R9, Z24
	MOVL $0x30303030, R9
	VPBROADCASTD R9, Z25
	VMOVDQU64 q6mshl<>(SB), Z26
	VMOVDQU64 q6mshr<>(SB), Z27
	VMOVDQU64 q6mpw<>+0(SB), Z28
	VMOVDQU64 q6mpw<>+64(SB), Z29
	VMOVDQU64 q6mpw<>+128(SB), Z30
	VMOVDQU64 q6mpw<>+192(SB), Z31

q6mrow:
	MOVQ SI, R14
	MOVQ DI, R15
	MOVQ R10, R12
	XORQ AX, AX

q6msb:
	VMOVDQU64 (R14), Z16            // ql[0:64]
	VBROADCASTI64X4 128(R14), Z17   // qh[0:32] in both halves
	VMOVDQU64 64(R14), Z18          // ql[64:128]
	VBROADCASTI64X4 160(R14), Z19   // qh[32:64] in both halves
	VPMOVSXBW 192(R14), Y20         // scales as words
	VPANDD Z24, Z16, Z22            // values 0-63
	VPSLLVW Z26, Z17, Z23
	VPTERNLOGD $0xf8, Z25, Z23, Z22
	VPSRLW $4, Z16, Z16             // values 64-127
	VPANDD Z24, Z16, Z16
	VPSRLVW Z27, Z17, Z17
	VPTERNLOGD $0xf8, Z25, Z17, Z16
	VPANDD Z24, Z18, Z23            // values 128-191
	VPSLLVW Z26, Z19, Z17
	VPTERNLOGD $0xf8, Z25, Z17, Z23
	VPSRLW $4, Z18, Z18             // values 192-255
	VPANDD Z24, Z18, Z18
	VPSRLVW Z27, Z19, Z19
	VPTERNLOGD $0xf8, Z25, Z19, Z18
	VPMADDUBSW 4(R15), Z22, Z0      // q*a, pairs
	VPMADDUBSW 68(R15), Z16, Z1
	VPMADDUBSW 132(R15), Z23, Z2
	VPMADDUBSW 196(R15), Z18, Z3
	VPERMW Z20, Z28, Z4             // scale of each pair
	VPERMW Z20, Z29, Z5
	VPERMW Z20, Z30, Z6
	VPERMW Z20, Z31, Z7
	VPMADDWD Z4, Z0, Z8
	VPDPWSSD Z5, Z1, Z8
	VPDPWSSD Z6, Z2, Z8
	VPDPWSSD Z7, Z3, Z8
	VPMADDWD 260(R15), Y20, Y9      // Σ sc*bsum, pairs
	VPSLLD $5, Y9, Y9
	VPSUBD Z9, Z8, Z8
	VEXTRACTI64X4 $1, Z8, Y10
	VPADDD Y10, Y8, Y8
	VEXTRACTI32X4 $1, Y8, X10
	VPADDD X10, X8, X8
	VMOVDQU X8, (R12)
	MOVWLZX 208(R14), R9
	MOVW R9, 4096(R10)(AX*2)
	ADDQ $210, R14
	ADDQ $292, R15
	ADDQ $16, R12
	INCQ AX
	CMPQ AX, CX
	JNE q6msb

	// 16 super-blocks at a time: I = Σ of the 4 partials, p = float32(I)*(d*da)
	MOVQ R10, R12
	XORQ AX, AX

q6mepi:
	VMOVDQU32 (R12), Z0
	VMOVDQU32 64(R12), Z1
	VMOVDQU32 128(R12), Z2
	VMOVDQU32 192(R12), Z3
	VPUNPCKLDQ Z1, Z0, Z4
	VPUNPCKHDQ Z1, Z0, Z5
	VPADDD Z5, Z4, Z4
	VPUNPCKLDQ Z3, Z2, Z5
	VPUNPCKHDQ Z3, Z2, Z6
	VPADDD Z6, Z5, Z5
	VPUNPCKLQDQ Z5, Z4, Z6
	VPUNPCKHQDQ Z5, Z4, Z7
	VPADDD Z7, Z6, Z6
	VMOVDQU64 q6mpd<>(SB), Z7
	VPERMD Z6, Z7, Z6
	VCVTDQ2PS Z6, Z6
	VCVTPH2PS 4096(R10)(AX*2), Z5
	VMULPS (R11)(AX*4), Z5, Z5
	VMULPS Z5, Z6, Z6
	VMOVUPS Z6, 4608(R10)(AX*4)
	ADDQ $256, R12
	ADDQ $16, AX
	CMPQ AX, CX
	JB q6mepi

	// sums in the tile kernel's order: chunks of span super-blocks
	XORQ AX, AX
	MOVQ CX, R9
	SUBQ AX, R9
	CMPQ R9, DX
	CMOVQGT DX, R9
	VXORPS X1, X1, X1
q6mc0:
	VADDSS 4608(R10)(AX*4), X1, X1
	INCQ AX
	DECQ R9
	JNZ q6mc0
	VMOVAPS X1, X0

q6mchunk:
	CMPQ AX, CX
	JAE q6mstore
	MOVQ CX, R9
	SUBQ AX, R9
	CMPQ R9, DX
	CMOVQGT DX, R9
	VXORPS X1, X1, X1
q6mc1:
	VADDSS 4608(R10)(AX*4), X1, X1
	INCQ AX
	DECQ R9
	JNZ q6mc1
	VADDSS X1, X0, X0
	JMP q6mchunk

q6mstore:
	VMOVSS X0, (R13)
	ADDQ $4, R13
	ADDQ R8, SI
	DECQ BX
	JNZ q6mrow
	VZEROUPPER
	RET
