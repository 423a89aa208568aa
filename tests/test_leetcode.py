from collections import Counter
from pathlib import Path

import pytest

from coig.builders import BuildContext
from coig.builders.leetcode import TEMPLATES, build, instruction_for
from coig.errors import SourceError
from coig.readers.leetcode import read
from coig.records import LeetCodeInstruction, RawRecord, Reject, make_id
from coig.sources import Source, SourceFile

PROBLEMS = "leetcode_doocs/solution/9000-9099"
MAX_PAIR = f"{PROBLEMS}/9001.Max Pair Sum/README.md"
COUNT_RANGES = f"{PROBLEMS}/9002.Count Ranges/README.md"
DRAW_CARDS = f"{PROBLEMS}/9003.Draw Cards/README.md"
PLAIN_MARKDOWN = f"{PROBLEMS}/9004.Plain Markdown/README.md"
LOCKED = f"{PROBLEMS}/9005.Locked Problem/README.md"

MAX_PAIR_INPUT = (
    "给你一个整数数组\xa0`nums`，返回其中两个**不同下标**的元素之和的最大值。\n\n"
    "**示例 1：**\n\n"
    "```\n输入：nums = [1,5,3]\n输出：8\n解释：5 + 3 = 8 。\n```\n\n"
    "**提示：**\n\n"
    "- `2 <= nums.length <= 10^4`\n"
    "- `-10^9 <= nums[i] <= 10^9`"
)
MAX_PAIR_PYTHON = (
    "class Solution:\n"
    "    def maxPairSum(self, nums: List[int]) -> int:\n"
    "#### 顶格注释，不是语言标题\n"
    "        nums.sort()  \n"
    "        return nums[-1] + nums[-2]"
)
MAX_PAIR_GO = "func maxPairSum(nums []int) int {\n\tsort.Ints(nums)\n\treturn nums[len(nums)-1] + nums[len(nums)-2]\n}"


def make_source(paths: list[str]) -> Source:
    return Source(
        name="leetcode_doocs",
        builder="leetcode_instructions",
        reader="leetcode_readme",
        license="cc-by-sa-4.0",
        homepage="https://github.com/doocs/leetcode",
        files=[SourceFile(path=p, url=None, sha256="0" * 64) for p in paths],
    )


def read_all(root: Path, paths: list[str]) -> list[RawRecord | Reject]:
    source = make_source(paths)
    return [item for p in paths for item in read(root / p, p, source)]


def build_all(root: Path, raws: list[RawRecord]) -> list[LeetCodeInstruction | Reject]:
    return list(build(raws, make_source(["x"]), BuildContext(data_root=root, sources={})))


def test_reader_yields_one_raw_per_language(fixtures):
    raws = read_all(fixtures, [MAX_PAIR])

    assert [r.source_id for r in raws] == ["9001:Python3", "9001:Go"]
    assert [r.locator for r in raws] == [f"{MAX_PAIR}#Python3", f"{MAX_PAIR}#Go"]
    python, go = raws
    assert python.source == "leetcode_doocs"
    assert {k: python.data[k] for k in ("number", "title", "url", "difficulty", "tags", "language", "fence_tag")} == {
        "number": 9001,
        "title": "最大数对和",
        "url": "https://leetcode.cn/problems/max-pair-sum",
        "difficulty": "简单",
        "tags": ["数组", "排序"],
        "language": "Python3",
        "fence_tag": "python",
    }
    assert python.data["description_html"].startswith("<p>给你一个整数数组&nbsp;<code>nums</code>")
    assert python.data["description_html"].endswith("</ul>")
    assert python.data["methods"] == [
        {
            "title": "方法一：排序",
            "explanation": "将数组排序后，最大的两个数之和即为答案。\n\n时间复杂度 $O(n \\log n)$。",
            "code": MAX_PAIR_PYTHON,
        }
    ]
    assert go.data["fence_tag"] == "go"
    assert [m["code"] for m in go.data["methods"]] == [MAX_PAIR_GO]


def test_code_is_kept_byte_for_byte(fixtures):
    text = (fixtures / MAX_PAIR).read_text(encoding="utf-8")
    records = build_all(fixtures, read_all(fixtures, [MAX_PAIR]))

    # the trailing spaces after nums.sort() and Go's tabs survive; the `####` comment is code
    assert f"\n{MAX_PAIR_PYTHON}\n```" in text
    assert records[0].output.endswith(f"```python\n{MAX_PAIR_PYTHON}\n```")
    assert records[1].output.endswith(f"```go\n{MAX_PAIR_GO}\n```")


def test_builds_exact_record(fixtures):
    python, go = build_all(fixtures, read_all(fixtures, [MAX_PAIR]))

    record_id = make_id("leetcode_instructions", "leetcode_doocs", "9001:Python3")
    assert python.id == record_id
    assert python.instruction == TEMPLATES[int(record_id, 16) % len(TEMPLATES)].format(
        language="Python", number=9001, title="最大数对和"
    )
    assert python.input == MAX_PAIR_INPUT
    assert python.output == (
        "### 方法一：排序\n\n"
        "将数组排序后，最大的两个数之和即为答案。\n\n时间复杂度 $O(n \\log n)$。\n\n"
        f"```python\n{MAX_PAIR_PYTHON}\n```"
    )
    assert (python.source, python.source_id, python.license) == ("leetcode_doocs", "9001:Python3", "cc-by-sa-4.0")
    assert python.locator == f"{MAX_PAIR}#Python3"
    assert python.metadata.model_dump() == {
        "problem_id": 9001,
        "title": "最大数对和",
        "url": "https://leetcode.cn/problems/max-pair-sum",
        "difficulty": "简单",
        "tags": ["数组", "排序"],
        "language": "Python3",
    }
    assert go.metadata.language == "Go"
    assert "Go" in go.instruction and "最大数对和" in go.instruction
    assert go.input == MAX_PAIR_INPUT


def test_html_becomes_text():
    from coig.builders.leetcode import description_text

    html = "<p>若&nbsp;<code>n &lt;= 10<sup>4</sup></code> 且 a<sub>i</sub> &gt; 0</p>\n<p>&nbsp;</p>"
    assert description_text(html) == "若\xa0`n <= 10^4` 且 a_i > 0"


def test_multi_method_readme(fixtures):
    raws = read_all(fixtures, [COUNT_RANGES])
    assert [r.source_id for r in raws] == ["9002:Python3", "9002:Java", "9002:JavaScript", "9002:C++"]
    assert [m["title"] for m in raws[0].data["methods"]] == ["方法一：前缀和", "方法二：双指针", "方法二：双指针"]

    python, java, javascript, cpp = build_all(fixtures, raws)
    first_explanation = "用哈希表记录每个前缀和出现的次数，例如：\n\n```txt\nnums = [1,1], k = 1\n```"
    assert python.output == (
        f"### 方法一：前缀和\n\n{first_explanation}\n\n"
        "```python\ndef count(nums, k):\n    seen, s, ans = {0: 1}, 0, 0\n    for x in nums:\n"
        "        s += x\n        ans += seen.get(s - k, 0)\n        seen[s] = seen.get(s, 0) + 1\n"
        "    return ans\n```\n\n"
        "### 方法二：双指针\n\n数组非负，可以用双指针。\n\n"
        "```python\ndef count(nums, k):\n    return 2\n```\n\n"
        "进一步地，可以只遍历一次。\n\n"
        "```python\ndef count(nums, k):\n    return 3\n```"
    )
    assert java.output == (
        f"### 方法一：前缀和\n\n{first_explanation}\n\n```java\nint count(int[] nums, int k) {{\n    return 0;\n}}\n```"
    )
    # a level-3 language heading inside the tabs still names a language, not a method
    assert javascript.output == f"### 方法一：前缀和\n\n{first_explanation}\n\n```js\nconst count = (nums, k) => 0;\n```"
    assert cpp.output == "### 方法二：双指针\n\n进一步地，可以只遍历一次。\n\n```cpp\nint count() { return 3; }\n```"
    assert python.input == "给你一个非负整数数组 `nums` 和整数 `k`，返回和 *恰好* 为 `k` 的连续子数组个数。\n\n**提示：**\n\n- `1 <= nums.length <= 10^5`"
    assert python.metadata.difficulty == "中等"
    assert python.metadata.tags == ["数组", "前缀和", "双指针"]


def test_readme_without_code_is_rejected_as_no_solution(fixtures):
    raws = read_all(fixtures, [DRAW_CARDS])
    assert len(raws) == 1
    assert raws[0].source_id == "9003:"
    assert raws[0].locator == DRAW_CARDS
    assert (raws[0].data["language"], raws[0].data["methods"]) == ("", [])

    (reject,) = build_all(fixtures, raws)
    assert isinstance(reject, Reject)
    assert (reject.stage, reject.reason, reject.config) == ("build", "no_solution", "leetcode_instructions")
    assert reject.locator == DRAW_CARDS
    assert '"title":"抽卡"' in reject.raw


def test_readme_without_description_markers_is_a_read_reject(fixtures):
    (reject,) = read_all(fixtures, [PLAIN_MARKDOWN])

    assert isinstance(reject, Reject)
    assert (reject.stage, reject.reason, reject.locator) == ("read", "unrecognized_layout", PLAIN_MARKDOWN)
    assert reject.raw == (fixtures / PLAIN_MARKDOWN).read_text(encoding="utf-8")
    assert "description:start" in reject.detail


def test_blank_description_is_rejected(fixtures):
    raws = read_all(fixtures, [LOCKED])
    assert [r.source_id for r in raws] == ["9005:Python3"]

    (reject,) = build_all(fixtures, raws)
    assert isinstance(reject, Reject)
    assert (reject.stage, reject.reason, reject.locator) == ("build", "empty_description", f"{LOCKED}#Python3")


def test_instruction_is_chosen_by_id_and_names_language_and_title():
    data = {"language": "Python3", "number": 1, "title": "两数之和"}
    ids = [make_id("leetcode_instructions", "leetcode_doocs", f"{n}:Python3") for n in range(60)]

    instructions = [instruction_for(i, data) for i in ids]
    assert instructions == [instruction_for(i, data) for i in ids]
    assert len(set(instructions)) == len(TEMPLATES) >= 5
    assert all("Python" in text and "Python3" not in text and "「两数之和」" in text for text in instructions)
    assert "请用 Python 解决力扣第 1 题「两数之和」，并说明你的解题思路。" in instructions


def test_undecodable_file_names_file_and_encoding(tmp_path):
    path = tmp_path / "README.md"
    path.write_bytes("<!-- description:start -->题目".encode("gb18030"))

    with pytest.raises(SourceError, match=r"README\.md.*utf-8"):
        list(read(path, "README.md", make_source(["README.md"])))


@pytest.mark.realdata
def test_real_readmes(data_root):
    paths = sorted(str(p.relative_to(data_root)) for p in data_root.glob("leetcode_doocs/solution/*/*/README.md"))
    assert len(paths) == 199

    items = read_all(data_root, paths)
    raws = [i for i in items if isinstance(i, RawRecord)]
    outcomes = build_all(data_root, raws)
    records = [o for o in outcomes if isinstance(o, LeetCodeInstruction)]

    assert len(outcomes) == len(raws)
    assert [o.locator for o in outcomes] == [r.locator for r in raws]
    assert not [i for i in items if isinstance(i, Reject)]
    assert {r.data["number"] for r in raws} == set(range(1, 200))
    assert len({r.id for r in records}) == len(records)
    for record in records:
        assert "<p>" not in record.input and "&nbsp;" not in record.input and "&lt;" not in record.input
        assert "<sup>" not in record.input and "<code>" not in record.input

    by_id = {r.source_id: r for r in records}
    two_sum = by_id["1:Python3"]
    assert two_sum.metadata.difficulty == "简单"
    assert two_sum.metadata.tags == ["数组", "哈希表"]
    assert two_sum.metadata.title == "两数之和"
    assert two_sum.metadata.url == "https://leetcode.cn/problems/two-sum"
    assert "- `2 <= nums.length <= 10^4`" in two_sum.input
    assert "输入：nums = [2,7,11,15], target = 9\n输出：[0,1]" in two_sum.input
    assert two_sum.output.startswith("### 方法一：哈希表\n\n")
    assert "```python\nclass Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n" in two_sum.output

    # every code block of every record is in its README byte for byte
    texts = {p: (data_root / p).read_text(encoding="utf-8") for p in paths}
    for raw in raws:
        for method in raw.data["methods"]:
            assert f"\n{method['code']}\n```" in texts[raw.locator.split("#")[0]]

    languages = Counter(r.metadata.language for r in records)
    assert languages["Python3"] == 194
    assert languages["MySQL"] == 12 and languages["Shell"] == 4
    # 0091 has a second Python3 version after more prose in the same method
    decode_ways = [r for r in raws if r.source_id == "91:Python3"][0]
    assert [m["title"] for m in decode_ways.data["methods"]] == ["方法一：动态规划", "方法一：动态规划"]
    assert decode_ways.data["methods"][1]["explanation"].startswith("我们注意到")
