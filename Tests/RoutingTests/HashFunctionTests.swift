import Testing

@testable import Routing

/// Hash vectors produced by compiling twemproxy 0.5.0's own `src/hashkit/*.c` (release commit
/// ca45646) with a small C driver on x86-64 Linux (signed `char`) and printing each function's
/// result for each key. Every key was also re-hashed at offsets 1, 2 and 3 to confirm the result does
/// not depend on alignment (jenkins has aligned fast paths). Columns follow `HashVector.order`.
struct HashVector: Sendable, CustomTestStringConvertible {
    static let order: [HashFunction] = [
        .oneAtATime, .md5, .crc16, .crc32, .crc32a, .fnv1_64, .fnv1a_64, .fnv1_32, .fnv1a_32, .hsieh, .murmur,
        .jenkins,
    ]
    let key: TestKey
    let expected: [UInt32]
    init(_ key: TestKey, _ expected: [UInt32]) {
        self.key = key
        self.expected = expected
    }
    var testDescription: String { key.description }

    static let all: [HashVector] = [
        HashVector(.ascii(""), [0x00000000, 0xd98c1dd4, 0x00000000, 0x00000000, 0x00000000, 0x84222325, 0x84222325, 0x811c9dc5, 0x811c9dc5, 0x00000000, 0x00000000, 0xdeadbefc]),
        HashVector(.ascii("a"), [0xca2e9442, 0xb975c10c, 0x00007c87, 0x000068b7, 0xe8b7be43, 0x8601b7be, 0x8601ec8c, 0x050c5d7e, 0xe40c292c, 0x93642e87, 0x4b41757c, 0xe0a38690]),
        HashVector(.ascii("ab"), [0x45e61e58, 0x43f47e18, 0x007c74ff, 0x00001e83, 0x9e83486d, 0xb4eb37b8, 0xb545986a, 0x70772d38, 0x4d2505ca, 0x5b8c0ec3, 0xe3b54dfb, 0xc1b5695b]),
        HashVector(.ascii("abc"), [0xed131f5b, 0x98500190, 0x7c749dd6, 0x00003524, 0x352441c2, 0x6bafadcb, 0x0541574b, 0x439c2f4b, 0x1a47e90b, 0xe5186b3a, 0x7b0cc428, 0x8f415600]),
        HashVector(.ascii("abcd"), [0xcd8b6206, 0x4c71fce2, 0x749da836, 0x00006d82, 0xed82cd11, 0xfb844f95, 0xee0724dd, 0xb9de7375, 0xce3479bd, 0x3ab452d8, 0xef6a86af, 0xd512151a]),
        HashVector(.ascii("abcde"), [0xb98559fc, 0xd9b456ab, 0x9da83ee1, 0x00000587, 0x8587d865, 0x61d33a4a, 0x762364a8, 0x0e2fc14a, 0x749bcf08, 0x84786722, 0x9a263eda, 0x5cff335b]),
        HashVector(.ascii("abcdef"), [0x0161526f, 0x17500be8, 0xa83e3afd, 0x00004b8e, 0x4b8e39ef, 0x39ec0bd8, 0xbe244a0a, 0x9f2d4718, 0xff478a2a, 0xbe7c6fe4, 0xe0badc96, 0x0b4ac2de]),
        HashVector(.ascii("abcdefg"), [0x4ac70178, 0x0f6cc67a, 0x3e3a7658, 0x0000312a, 0x312a6aa6, 0x6c18206f, 0x17aa7737, 0xac46eaaf, 0x2a9eb737, 0x3dad41af, 0xeba746f2, 0x76510984]),
        HashVector(.ascii("abcdefgh"), [0x44d2d3e1, 0x8140dce8, 0x3a76abff, 0x00002eef, 0xaeef2a50, 0xacff1cf5, 0x36a8d66d, 0xe2a37115, 0x76daaa8d, 0xff7cfe86, 0xfe5df9c7, 0xe05fa40b]),
        HashVector(.ascii("abcdefghi"), [0xc8b4ca7d, 0x1f9ba98a, 0x76ab060e, 0x00000da9, 0x8da988af, 0xf57e3426, 0xe0e3a8cc, 0xdc4b0466, 0xfe3b04ec, 0xa73e3541, 0xca0b70c9, 0x61357752]),
        HashVector(.ascii("abcdefghij"), [0x7031289d, 0x695725a9, 0xab06a32a, 0x00003981, 0x3981703a, 0x25729cf8, 0x22d79212, 0x3017ecf8, 0xbce81ef2, 0x2d7c0783, 0x0f2714d8, 0x11c468d9]),
        HashVector(.ascii("abcdefghijk"), [0x37a218ba, 0xccccb992, 0x06a37244, 0x00004e57, 0xce570f9f, 0xa1c0b903, 0x344de39b, 0xadaa0a03, 0xfa682adb, 0x67993530, 0xba078b5c, 0x17c0a5ff]),
        HashVector(.ascii("abcdefghijkl"), [0x605b0340, 0x06d6c99f, 0xa372b7ff, 0x00007678, 0xf6781b24, 0xda7a6075, 0xe05a5cb5, 0x65adc2d5, 0xe8fb3e15, 0x5f624189, 0xb805134a, 0xfb8b49e3]),
        HashVector(.ascii("abcdefghijklm"), [0x6d99f6dc, 0xd1bdae22, 0x72b79537, 0x00005df4, 0xddf46ea2, 0x3df1e6a2, 0x398bc308, 0xe589b522, 0x3b8356e8, 0x70ce5414, 0x2987d8bb, 0xb621e85f]),
        HashVector(.ascii("abcdefghijklmn"), [0xe625c1fc, 0x97a54508, 0xb7956974, 0x0000400d, 0x400d9578, 0x420ae528, 0xc87d0652, 0x79c824e8, 0x35c134f2, 0x97de00ac, 0xf9beec0b, 0x4db63f0b]),
        HashVector(.ascii("abcdefghijklmnopqrstuvwxy"), [0x60120ab5, 0x314078f1, 0x431954a6, 0x0000412a, 0x412a937d, 0xe74e7fd6, 0xeda40dac, 0xedd85f16, 0x7e661acc, 0x30e0b519, 0xe41582e0, 0x547a928b]),
        HashVector(.ascii("foo"), [0x238678dd, 0xdb18bdac, 0x0c3caf96, 0x00000c73, 0x8c736521, 0x6ba13533, 0xfed9d577, 0x408f5e13, 0xa9f37ed7, 0x76d4d427, 0xc4e0338f, 0x99f84f99]),
        HashVector(.ascii("hello world"), [0x3e4a5a57, 0xbb3bb65e, 0xf2063be4, 0x00000d4a, 0x0d4a1185, 0xb1910e6f, 0x023cd2e7, 0x548da96f, 0xd58b3fa7, 0x4f799873, 0x5e19153b, 0x153343fb]),
        HashVector(.ascii("user:1000"), [0xb563b74f, 0x2e986207, 0xe1644671, 0x00001f74, 0x9f7417e3, 0xd39e3d21, 0xae7b4289, 0xa6affca1, 0x507c1d89, 0xddec1969, 0x8e24aec7, 0x048c4d84]),
        HashVector(.ascii("{user1000}.following"), [0x601d07b4, 0x73813d21, 0xb3926fba, 0x0000760c, 0x760c43ef, 0xb60ca1a8, 0x31c09a76, 0xf8a53b08, 0x25e77276, 0x01de784b, 0xa6e2c735, 0xa8ff9d55]),
        HashVector(.ascii("The quick brown fox jumps over the lazy dog"), [0x519e91f5, 0x9d7d109e, 0x22a3f0c8, 0x0000414f, 0x414fa339, 0x7de37ace, 0xe7e47110, 0xe9c86c6e, 0x048fff90, 0x1c19ee97, 0x30c79125, 0x12b8163c]),
        HashVector(.ascii("123456789"), [0xc66b58c5, 0x94e7f925, 0x869031c3, 0x00004bf4, 0xcbf43926, 0x2bf916d6, 0x23c6cdfc, 0x24148816, 0xbb86b11c, 0xe4fc1670, 0xb7760690, 0x19777af6]),
        HashVector(.ascii("server1-0"), [0xc275b991, 0x8eb4f527, 0x443c4e8c, 0x0000221e, 0xa21e1f71, 0x67b70466, 0x174ef524, 0x181f4926, 0x07f0dcc4, 0x4eb9a534, 0x6ecdf830, 0xa8899293]),
        HashVector(.ascii("127.0.0.1:7001-39"), [0xddb56c67, 0x63b324e0, 0xb8e0b954, 0x00006969, 0xe969f740, 0x063c0667, 0xa61ede27, 0xdea28ae7, 0xda10d8e7, 0x0142262c, 0x1b09398b, 0xb77da89e]),
        HashVector(.hex("00"), [0x00000000, 0xad85b893, 0x00000000, 0x00005202, 0xd202ef8d, 0x8601b7df, 0x8601b7df, 0x050c5d1f, 0x050c5d1f, 0x00000000, 0xa46d9286, 0x8503b213]),
        HashVector(.hex("80"), [0xc31d4e27, 0x7edd398d, 0x00009188, 0x00003fba, 0x3fba6cad, 0x79fe485f, 0x79fdec5f, 0xfaf3a29f, 0x04f3b29f, 0xd6f4cb32, 0x90556245, 0xb16fde48]),
        HashVector(.hex("ff"), [0xae65a494, 0xd44f5900, 0x00001ef0, 0x00007f00, 0xff000000, 0x79fe4820, 0x79fe466e, 0xfaf3a2e0, 0xf9f3a14e, 0x02a6dba8, 0xdb530a9c, 0xe1964da8]),
        HashVector(.hex("7f80"), [0xcaac866f, 0x69a894a4, 0x008f89ef, 0x000004c6, 0x04c6f4e6, 0x4b14fb60, 0x4a7c24ea, 0xad8901a0, 0xaca4d6ca, 0x6231422b, 0x608d9892, 0x9f042cd4]),
        HashVector(.hex("0080ff"), [0x00d2360d, 0x9003aaed, 0x00910568, 0x000069c0, 0xe9c0aed4, 0x6c0e96c8, 0x6b5c2a16, 0x30b0cec8, 0x16548536, 0x711ae513, 0x94f20317, 0xd4366efe]),
        HashVector(.hex("6162e3"), [0x1727f358, 0x9fd67eb4, 0x7c740c5e, 0x0000589c, 0xd89cc2e2, 0x9450524b, 0xfabdedcb, 0xbc63d0cb, 0xb7b7ce8b, 0xaba2a614, 0x8c434eb4, 0xdc7b1156]),
        HashVector(.hex("ffffffff"), [0xf7c21986, 0x41004fa5, 0x1dd299cf, 0x00007fff, 0xffffffff, 0xa2b33129, 0xef1eb351, 0x657a2f89, 0x81ddf9b1, 0x26e2dcb2, 0x05d7228b, 0x428adf39]),
        HashVector(.hex("80818283ff"), [0xb7ce9072, 0xb0f91ce6, 0xa20d8c5d, 0x00007d3c, 0xfd3c7d3a, 0x05dbb4bc, 0x9d17b66a, 0xf67961fc, 0xe8de33ca, 0x5dfef09b, 0x6d55fe7f, 0x894dfaea]),
        HashVector(.hex("c3a9c3a8c3aa"), [0x3b7586c1, 0x36470059, 0x7cc6992a, 0x00003ece, 0x3eceb315, 0x92dfcb97, 0xb78d7953, 0x49f5cad7, 0x46120a53, 0x34cc03cb, 0x0a280fc8, 0x3c8d79b2]),
        HashVector(.hex("000000000000000000"), [0x00000000, 0xb229283f, 0x00000000, 0x00006609, 0xe60914ae, 0x249029bf, 0x249029bf, 0xc8e581ff, 0xc8e581ff, 0x00000000, 0x400a91c8, 0x2bae54a3]),
        HashVector(.hex("fe00fd01fc02fb"), [0x7ff60881, 0xa83f0cde, 0x4cf6dbad, 0x000005b2, 0x05b2aed1, 0xb8c869e2, 0x93e25a5c, 0x46877a42, 0xa9d0631c, 0x62a0fcbc, 0x09f3701b, 0x6e8e6bae]),
        HashVector(.hex("e282ac20e282ac20e282ac"), [0x9135ae06, 0x4633445f, 0x0d735d92, 0x000023d9, 0xa3d9af98, 0xdb060a93, 0x5fb6d2cb, 0xb0e78ed3, 0x61f2068b, 0xa755cba4, 0xf660a7ef, 0xdcb7fea0]),
        HashVector(.hex("ff00ff00ff00ff00ff00ff00ff"), [0x7590b122, 0xb4154ed7, 0x1bd80e85, 0x00002a26, 0xaa260319, 0x5276a318, 0xb6b67376, 0x1fb6bf98, 0xdfd8f796, 0xf3b91f44, 0x7cc06e80, 0x53e6591b]),
        HashVector(.cycle(55), [0xba305c35, 0x6212e5c9, 0x0c1b69c2, 0x00007bce, 0x7bce8a99, 0xf6fef83f, 0x400530c7, 0x082a017f, 0x7c1d8a47, 0x0def2737, 0x74d567d6, 0x9afcca4f]),
        HashVector(.cycle(56), [0x5256563b, 0xaa7cdeec, 0x1b699854, 0x000010cb, 0x90cbb96b, 0x4cc02cbd, 0x372e8735, 0xa6dfa55d, 0x947fb3d5, 0xcb1360cb, 0x16ffc4c5, 0x5adb85c4]),
        HashVector(.cycle(64), [0x8fb0eef0, 0xc287bfb6, 0x06de7951, 0x000004c8, 0x84c86088, 0x3b4b2a65, 0x262b5425, 0xd7d5f785, 0x46e71c45, 0xd9ed3616, 0xda8425a1, 0x8412122d]),
        HashVector(.cycle(119), [0x946349ea, 0x823ddcd5, 0xf6cd8a35, 0x00007fda, 0xffdaf9f5, 0x2a8347bf, 0x7eb75207, 0x2be231ff, 0x5697cc87, 0x245881ba, 0xb0aebd25, 0x4bb6ad5b]),
        HashVector(.cycle(256), [0xf8d15b60, 0x0d3038fa, 0x21d6f19d, 0x00000ce9, 0x0ce9d363, 0x1f136825, 0x30b59925, 0x4cc000c5, 0x0d2ef1c5, 0x76ce38da, 0x8ba39f22, 0x87be0d36]),
        HashVector(.cycle(301), [0x7d961b99, 0x89d08b4f, 0x6bfab7cb, 0x00006c2b, 0x6c2b93fb, 0x495ad208, 0x7a61470e, 0xdb353888, 0xe37378ee, 0x522db357, 0x5e15e8b3, 0x56c41f90]),
        HashVector(.cycle(1000), [0xbc2267ea, 0xd5781e2b, 0x95573912, 0x00000902, 0x8902161e, 0x86f412ed, 0x512e1435, 0x5a8a930d, 0xc6ab0155, 0x7da995b1, 0x9cbed0f9, 0x38368820]),
        HashVector(.repeated("abc", 100), [0x8b4a210c, 0x7a1171f5, 0x88ae6ce1, 0x000050c4, 0xd0c4b884, 0x06f535c5, 0xafa396c5, 0x54bfff65, 0xebe12465, 0xc20a8679, 0x0c6f0f6a, 0x9191a704]),
        HashVector(.repeated("0123456789", 40), [0x77b7b61c, 0xa4ff5fcb, 0x11eef09a, 0x00007aa0, 0x7aa0ecb4, 0xaf95a385, 0x87fb53c5, 0xa8371625, 0x17908665, 0xb9fae459, 0x7aef2bea, 0xf9231dc3]),
    ]
}

@Suite("twemproxy hash functions")
struct HashFunctionTests {
    @Test("matches twemproxy's C output", arguments: HashVector.all)
    func matchesTwemproxy(vector: HashVector) {
        let bytes = vector.key.bytes
        for (function, expected) in zip(HashVector.order, vector.expected) {
            let actual = withKey(bytes) { function.hash($0) }
            #expect(actual == expected, "\(function.rawValue)(\(vector.key)) = 0x\(String(actual, radix: 16))")
        }
    }

    @Test("vector columns cover every hash function once")
    func columnsCoverAllFunctions() {
        #expect(Set(HashVector.order) == Set(HashFunction.allCases))
        #expect(HashVector.order.count == HashFunction.allCases.count)
        #expect(HashVector.all.allSatisfy { $0.expected.count == HashVector.order.count })
    }

    @Test("result does not depend on the key's address or surrounding bytes", arguments: HashFunction.allCases)
    func independentOfAlignment(function: HashFunction) {
        let key = TestKey.cycle(77).bytes
        let reference = withKey(key) { function.hash($0) }
        for offset in 1..<8 {
            let padded = [UInt8](repeating: 0xaa, count: offset) + key + [0x55, 0x55, 0x55, 0x55]
            let actual = padded.withUnsafeBytes { buffer in
                function.hash(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + key.count)]))
            }
            #expect(actual == reference, "offset \(offset)")
        }
    }

    /// RFC 1321 appendix A.5, checking the MD5 implementation itself (all four words).
    @Test(
        "MD5 matches the RFC 1321 test suite",
        arguments: [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a"
            ),
        ]
    )
    func md5(input: String, digest: String) {
        let words = withKey(input) { md5Words($0) }
        let bytes = [words.0, words.1, words.2, words.3].flatMap { word in
            (0..<4).map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) }
        }
        #expect(bytes == hexBytes(digest))
    }

    @Test("MD5 around the one-block / two-block padding boundary", arguments: [54, 55, 56, 63, 64, 65, 119, 120, 128])
    func md5PaddingBoundaries(length: Int) {
        // Lengths 55/56 and 119/120 switch between one and two padding blocks; compare against
        // digests computed by the reference `md5sum` of `length` bytes of "a".
        let expected: [Int: String] = [
            54: "eced9e0b81ef2bba605cbc5e2e76a1d0", 55: "ef1772b6dff9a122358552954ad0df65",
            56: "3b0c8ac703f828b04c6c197006d17218", 63: "b06521f39153d618550606be297466d5",
            64: "014842d480b571495a4a0363793f7367", 65: "c743a45e0d2e6a95cb859adae0248435",
            119: "8a7bd0732ed6a28ce75f6dabc90e1613", 120: "5f61c0ccad4cac44c75ff505e1f1e537",
            128: "e510683b3f5ffe4093d021808bc6ff70",
        ]
        let words = withKey([UInt8](repeating: UInt8(ascii: "a"), count: length)) { md5Words($0) }
        let bytes = [words.0, words.1, words.2, words.3].flatMap { word in
            (0..<4).map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) }
        }
        #expect(bytes == hexBytes(expected[length]!))
    }
}
