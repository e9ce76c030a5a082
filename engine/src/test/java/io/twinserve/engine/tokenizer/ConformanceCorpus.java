package io.twinserve.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A deterministic corpus of varied strings for comparing tokenizers: code, prose in many scripts, emoji,
 * numbers, whitespace runs, contractions, punctuation, URLs, JSON and special tokens inside text.
 * U+0085 and U+FEFF are left out on purpose: JavaScript's \s and Unicode's White_Space (what Hugging
 * Face's Rust regex uses) disagree on exactly those two.
 */
final class ConformanceCorpus {
    private static final String[] CODE = {
        "public static void main(String[] args) {\n    System.out.println(\"Hello, world!\");\n}",
        "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
        "for (let i = 0; i < arr.length; i++) { sum += arr[i] ** 2; }",
        "fn main() -> Result<(), Box<dyn Error>> {\n\tlet v: Vec<u8> = vec![1, 2, 3];\n\tOk(())\n}",
        "func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {\n\tdefer r.Body.Close()\n}",
        "#include <stdio.h>\nint main(void){printf(\"%d\\n\", 42);return 0;}",
        "SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY id DESC LIMIT 10;",
        "if [ -z \"$HOME\" ]; then echo 'no home' >&2; exit 1; fi",
        "    x = [i*i for i in range(10) if i % 2 == 0]  # squares",
        "<div class=\"row\"><span id='a'>&nbsp;&lt;tag&gt;</span></div>",
        "const re = /^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)$/i;",
        "x+=1;y-=2;z*=3;w/=4;a%=5;b<<=1;c>>=2;d&&=e;f||=g;h??=i",
        "@Override\r\npublic int hashCode() {\r\n\treturn Objects.hash(a, b);\r\n}\r\n",
        "matrix[i][j] = (a[i][k] * b[k][j]) + c[i][j];",
        "  }\n}\n\n\n// TODO(alice): handle the edge case where n == 0",
    };
    private static final String[] PROSE = {
        "The quick brown fox jumps over the lazy dog.",
        "I'm sure they'll come; we've waited, haven't we? She'd know. It's John's.",
        "I'M SURE THEY'LL COME; WE'VE WAITED, HAVEN'T WE? SHE'D KNOW. IT'S JOHN'S.",
        "It'S tHeY'Re We'Ve i'M yOu'Ll He'D don'T",
        "Hello, my dog is cute!!! Isn't it?!... (Yes.) [No!] {Maybe}",
        "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 fa\u00e7ade \u00fcber Stra\u00dfe \u00c5ngstr\u00f6m",
        "Cafe\u0301 decomposed: e\u0301 a\u0308 o\u0302 n\u0303",
        "\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u53bb\u516c\u56ed\u6563\u6b65\u5427\u3002",
        "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002\u30ab\u30bf\u30ab\u30ca\u3068\u3072\u3089\u304c\u306a\u3002",
        "\ud55c\uad6d\uc5b4\ub294 \uc544\ub984\ub2f5\uc2b5\ub2c8\ub2e4. \uc548\ub155\ud558\uc138\uc694!",
        "\u0645\u0631\u062d\u0628\u0627 \u0628\u0643\u0645 \u0641\u064a \u0627\u0644\u0639\u0627\u0644\u0645 \u0627\u0644\u0639\u0631\u0628\u064a\u060c \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f",
        "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd, \u05de\u05d4 \u05e9\u05dc\u05d5\u05de\u05da?",
        "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e, \u0906\u092a \u0915\u0948\u0938\u0947 \u0939\u0948\u0902?",
        "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a \u0e22\u0e34\u0e19\u0e14\u0e35\u0e15\u0e49\u0e2d\u0e19\u0e23\u0e31\u0e1a",
        "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u041a\u0430\u043a \u0434\u0435\u043b\u0430? \u0401\u043b\u043a\u0430.",
        "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5! \u03a9\u03bc\u03ad\u03b3\u03b1 \u03b1\u03b2\u03b3.",
        "Mixed: English \u4e2d\u6587 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea \u0939\u093f\u0928\u094d\u0926\u0940 \u0e44\u0e17\u0e22 \ud55c\uae00 \u0420\u0443\u0441\u0441\u043a\u0438\u0439",
        "Math: \u2200x\u2208\u211d, x\u00b2 \u2265 0; \u03c0 \u2248 3.14159; \u221e \u2260 \u2205",
        "Fullwidth\uff1a\uff21\uff22\uff23\uff11\uff12\uff13\uff01 and \u2160\u2161\u2162 roman, \u00bd \u00be fractions",
    };
    private static final String[] EMOJI = {
        "\ud83d\ude00",
        "\ud83d\udc4d\ud83c\udffd",
        "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66",
        "\ud83c\uddfa\ud83c\uddf8",
        "\u2764\ufe0f",
        "\ud83e\uddd1\ud83c\udffe\u200d\ud83d\udcbb",
        "\ud83c\udff3\ufe0f\u200d\ud83c\udf08",
        "\ud83d\udd25\ud83d\udd25\ud83d\udd25",
        "\ud83d\udc4b\ud83c\udffb\ud83d\udc4b\ud83c\udfff",
        "\u2728",
        "\ud83e\udd16",
        "\ud83d\udc69\ud83c\udffc\u200d\ud83d\ude80",
        "1\ufe0f\u20e3",
        "\u263a",
    };
    private static final String[] SPECIAL = {
        "<|im_start|>",
        "<|im_end|>",
        "<|endoftext|>",
        "<|eot_id|>",
        "<|begin_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<think>",
        "</think>",
        "<tool_call>",
        "<|im_sta",
        "<|eot_id",
        "< |im_end| >",
        "<|reserved_special_token_5|>",
        "<|vision_pad|>",
    };
    private static final String[] URL = {
        "https://example.com/path/to/page?query=1&lang=en#section",
        "http://localhost:8080/api/v1/users/42",
        "ftp://files.example.org/pub/README.txt",
        "mailto:someone@example.com",
        "https://\u4f8b\u3048.jp/\u30d1\u30b9?q=\u691c\u7d22",
    };
    private static final String[] JSON = {
        "{\"name\": \"Alice\", \"age\": 30, \"tags\": [\"a\", \"b\"], \"ok\": true, \"x\": null}",
        "[{\"id\":1,\"v\":-2.5e10},{\"id\":2,\"v\":0.001}]",
        "{\n  \"nested\": {\n    \"deep\": [1, 2, {\"k\": \"v\\n\\t\\\"q\\\"\"}]\n  }\n}",
    };
    private static final String[] PUNCTUATION = {
        "!!!",
        "...",
        "?!",
        "---",
        "```",
        "***",
        "~~~",
        "===",
        "=>",
        "->",
        "::",
        ";;",
        "''",
        "\"\"",
        "<<>>",
        "\u2014",
        "\u2026",
        "\u00ab\u00bb",
        "\u201c\u201d",
        "\u3002\u3001",
        "\u00bf\u00a1",
        "#!",
        "$$",
        "%%",
        "&&",
        "||",
        "@@",
    };
    private static final String[] WHITESPACE = {
        " ",
        "  ",
        "   ",
        "\t",
        "\t\t",
        "\n",
        "\n\n",
        "\r\n",
        "\r\n\r\n",
        " \n",
        "\n ",
        "  \n  ",
        "\t \n",
        "\u00a0",
        "\u3000",
        "\u2003",
        " \t\r\n ",
        "\n\n\n\n",
    };
    /** Code points of scripts whose categories are settled in every Unicode version the implementations use. */
    private static final int[][] SCRIPT_RANGES = {
        {0x0041, 0x007A}, {0x00C0, 0x00FF}, {0x0391, 0x03C9}, {0x0410, 0x044F}, {0x05D0, 0x05EA}, {0x0621, 0x064A},
        {0x0905, 0x0939}, {0x0E01, 0x0E30}, {0x3041, 0x3096}, {0x30A1, 0x30FA}, {0x4E00, 0x9FA5}, {0xAC00, 0xD7A3},
        {0x0030, 0x0039}, {0x0660, 0x0669}, {0x0966, 0x096F}, {0x2000, 0x206F}, {0x1F600, 0x1F64F}, {0x1F300, 0x1F5FF},
    };

    private ConformanceCorpus() {}

    static List<String> generate(int count, long seed) {
        Random random = new Random(seed);
        List<String> corpus = new ArrayList<>(count);
        corpus.addAll(List.of(
                "",
                " ",
                "a",
                "\n",
                "  leading",
                "trailing  ",
                "\r\n",
                "<|im_start|>",
                "<|eot_id|>",
                "123",
                "1234567",
                "3.14159265358979",
                "Hello world",
                "  \n\n x",
                "x  \n\n",
                "'s",
                "'S'T'RE"));
        while (corpus.size() < count) {
            int fragments = 1 + random.nextInt(6);
            StringBuilder text = new StringBuilder();
            for (int f = 0; f < fragments; f++) {
                if (f > 0) {
                    text.append(separator(random));
                }
                text.append(fragment(random));
            }
            corpus.add(text.toString());
        }
        return corpus;
    }

    private static String separator(Random random) {
        return switch (random.nextInt(5)) {
            case 0 -> "";
            case 1, 2 -> " ";
            case 3 -> pick(random, WHITESPACE);
            default -> "\n";
        };
    }

    private static String fragment(Random random) {
        return switch (random.nextInt(12)) {
            case 0, 1 -> pick(random, CODE);
            case 2, 3 -> pick(random, PROSE);
            case 4 -> pick(random, EMOJI) + (random.nextBoolean() ? pick(random, EMOJI) : "");
            case 5 -> number(random);
            case 6 -> pick(random, WHITESPACE) + pick(random, WHITESPACE);
            case 7 -> pick(random, SPECIAL);
            case 8 -> random.nextBoolean() ? pick(random, URL) : pick(random, JSON);
            case 9 -> pick(random, PUNCTUATION) + pick(random, PUNCTUATION);
            case 10 -> randomScript(random);
            default -> slice(random, pick(random, PROSE) + pick(random, CODE));
        };
    }

    private static String number(Random random) {
        int digits = 1 + random.nextInt(random.nextBoolean() ? 4 : 30);
        StringBuilder number = new StringBuilder();
        if (random.nextInt(4) == 0) {
            number.append('-');
        }
        for (int i = 0; i < digits; i++) {
            number.append((char) ('0' + random.nextInt(10)));
        }
        switch (random.nextInt(5)) {
            case 0 -> number.append('.').append(random.nextInt(100000));
            case 1 -> number.append(",000,000");
            case 2 -> number.append("e-").append(random.nextInt(40));
            default -> {}
        }
        return number.toString();
    }

    private static String randomScript(Random random) {
        int[] range = SCRIPT_RANGES[random.nextInt(SCRIPT_RANGES.length)];
        StringBuilder text = new StringBuilder();
        int length = 1 + random.nextInt(12);
        for (int i = 0; i < length; i++) {
            int codePoint = range[0] + random.nextInt(range[1] - range[0] + 1);
            if (Character.isDefined(codePoint) && Character.getType(codePoint) != Character.SURROGATE) {
                text.appendCodePoint(codePoint);
            }
            if (random.nextInt(5) == 0) {
                text.append(' ');
            }
        }
        return text.toString();
    }

    /** A piece of text cut at code-point boundaries, so words and lines get cut mid-way. */
    private static String slice(Random random, String text) {
        int[] codePoints = text.codePoints().toArray();
        int start = random.nextInt(codePoints.length);
        int end = start + random.nextInt(codePoints.length - start) + 1;
        return new String(codePoints, start, end - start);
    }

    private static String pick(Random random, String[] options) {
        return options[random.nextInt(options.length)];
    }
}
