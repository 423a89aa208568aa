"""GAOKAO-Bench reader and the exam_instructions builder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from coig.builders import BuildContext, get_builder
from coig.builders.exam import (
    analysis_contradiction,
    build,
    missing_figure,
    question_type_of,
    subject_of,
)
from coig.errors import SourceError
from coig.readers import get_reader, read_source
from coig.readers.gaokao import read
from coig.records import ExamInstruction, ExamMetadata, RawRecord, Reject, make_id
from coig.sources import Source, SourceFile

BIOLOGY = "gaokao_bench/Objective_Questions/2010-2022_Biology_MCQs.json"
READING = "gaokao_bench/Objective_Questions/2010-2022_English_Reading_Comp.json"
MATH_FILL = "gaokao_bench/Subjective_Questions/2010-2022_Math_I_Fill-in-the-Blank.json"
GEOGRAPHY = "gaokao_bench/Subjective_Questions/2010-2022_Geography_Open-ended_Questions.json"
UNKNOWN = "gaokao_bench/Subjective_Questions/2023_Astronomy_Essays.json"
FIXTURE_FILES = [BIOLOGY, READING, MATH_FILL, GEOGRAPHY, UNKNOWN]


def make_source(paths: list[str]) -> Source:
    return Source(
        name="gaokao_bench",
        builder="exam_instructions",
        reader="gaokao_json",
        license="apache-2.0",
        homepage="https://github.com/OpenLMLab/GAOKAO-Bench",
        files=[SourceFile(path=path, url=None, sha256="0" * 64) for path in paths],
    )


def run(root: Path, paths: list[str]) -> tuple[list[RawRecord | Reject], list[ExamInstruction | Reject]]:
    """Read and build like a build does: read rejects stay, raw records go through the builder."""
    source = make_source(paths)
    read_outcomes = list(read_source(source, root))
    raws = [item for item in read_outcomes if isinstance(item, RawRecord)]
    built = list(build(raws, source, BuildContext(data_root=root, sources={})))
    return read_outcomes, built


@pytest.fixture
def outcomes(fixtures: Path) -> dict[str, ExamInstruction | Reject]:
    """Every fixture outcome (read rejects included) by locator."""
    read_outcomes, built = run(fixtures, FIXTURE_FILES)
    by_locator = {item.locator: item for item in read_outcomes if isinstance(item, Reject)}
    by_locator.update({item.locator: item for item in built})
    return by_locator


def at(path: str, position: int) -> str:
    return f"{path}#example[{position}]"


# --- reader -----------------------------------------------------------------------------------


def test_registry_finds_reader_and_builder() -> None:
    source = make_source([BIOLOGY])
    assert get_reader(source) is read
    assert get_builder(source) is build


def test_reader_yields_one_item_per_example_with_locator_and_source_id(fixtures: Path) -> None:
    items = list(read(fixtures / BIOLOGY, BIOLOGY, make_source([BIOLOGY])))

    assert len(items) == 14
    first = items[0]
    assert isinstance(first, RawRecord)
    assert first.locator == f"{BIOLOGY}#example[0]"
    assert first.source_id == "2010-2022_Biology_MCQs#0"
    assert first.data["kind"] == "objective"
    assert first.data["keywords"] == "2010-2022_Biology_MCQs"
    assert first.data["answer"] == ["D"] and first.data["year"] == "2015"
    # the tenth example is a string, not an object
    bad = items[9]
    assert isinstance(bad, Reject)
    assert (bad.stage, bad.reason, bad.locator) == ("read", "malformed_item", f"{BIOLOGY}#example[9]")
    assert bad.raw == '"这一项不是对象"'
    assert "string" in bad.detail
    assert items[10].source_id == "2010-2022_Biology_MCQs#10"


def test_reader_marks_subjective_files_by_folder(fixtures: Path) -> None:
    (item,) = read(fixtures / GEOGRAPHY, GEOGRAPHY, make_source([GEOGRAPHY]))
    assert item.data["kind"] == "subjective"
    assert item.source_id == "2010-2022_Geography_Open-ended_Questions#0"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"keywords": "x", "example": [', "not valid UTF-8 JSON"),
        ('{"keywords": "x", "examples": []}', 'expected a JSON object with an "example" list'),
        ('[{"question": "1+1=?"}]', 'expected a JSON object with an "example" list'),
    ],
)
def test_reader_rejects_a_broken_file_naming_it(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "Objective_Questions" / "2010-2022_Biology_MCQs.json"
    path.parent.mkdir()
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        list(read(path, "gaokao_bench/Objective_Questions/2010-2022_Biology_MCQs.json", make_source([BIOLOGY])))
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_reader_rejects_a_file_outside_the_upstream_folders(tmp_path: Path) -> None:
    path = tmp_path / "questions.json"
    path.write_text('{"keywords": "x", "example": []}', encoding="utf-8")
    with pytest.raises(SourceError, match="Objective_Questions or Subjective_Questions"):
        list(read(path, "questions.json", make_source([BIOLOGY])))


# --- records ----------------------------------------------------------------------------------


def test_objective_question_becomes_this_record(outcomes: dict) -> None:
    record = outcomes[at(BIOLOGY, 0)]
    assert record == ExamInstruction(
        id=make_id("exam_instructions", "gaokao_bench", "2010-2022_Biology_MCQs#0"),
        instruction="下面是一道2015年高考生物选择题，请选出正确答案，并给出解析。",
        input="1．（6分）下列关于酶的叙述，正确的是（\u3000\u3000）\nA．酶都是蛋白质\nB．酶只能在细胞内起作用\n"
        "C．酶为化学反应提供活化能\nD．酶的催化作用具有专一性",
        output="答案：D\n\n解析：解：A、少数酶是RNA，A错误；\nB、酶在细胞外也能起作用，B错误；\n"
        "C、酶的作用是降低活化能，C错误；\nD、一种酶只能催化一种或一类化学反应，D正确。\n故选：Ｄ。",
        source="gaokao_bench",
        source_id="2010-2022_Biology_MCQs#0",
        locator=at(BIOLOGY, 0),
        license="apache-2.0",
        metadata=ExamMetadata(
            subject="生物",
            year=2015,
            category="（新课标Ⅰ）",
            question_type="选择题",
            objective=True,
            answer=["D"],
            score=6.0,
        ),
    )


def test_subjective_fill_in_blank_becomes_this_record(outcomes: dict) -> None:
    record = outcomes[at(MATH_FILL, 0)]
    assert record.instruction == "以下是一道高考数学（理科）填空题，请写出空白处应填的答案，并给出解析。"
    assert record.input == "13. (5 分) 已知向量 $\\vec{a}=(1,2), \\vec{b}=(x, 4)$, 若 $\\vec{a} \\parallel \\vec{b}$, 则 $x=$"
    assert record.output == (
        "答案：$2$\n\n解析：解: 由 $\\vec{a} \\parallel \\vec{b}$ 得 $1 \\times 4-2 x=0$, 解得 $x=2$.\n\n故答案为: $2$."
    )
    assert record.metadata == ExamMetadata(
        subject="数学（理科）", year=2014, category="（新课标Ⅱ）", question_type="填空题",
        objective=False, answer=["$2$"], score=5.0,
    )


def test_several_sub_questions_list_their_answers_in_order(outcomes: dict) -> None:
    record = outcomes[at(READING, 0)]
    assert record.instruction == "以下是一道高考英语阅读理解题，请阅读短文，依次选出各小题的正确答案，并给出解析。"
    assert record.output.startswith("答案：B、C\n\n解析：21．B 细节理解题．")
    assert record.metadata.answer == ["B", "C"]
    assert (record.metadata.subject, record.metadata.question_type, record.metadata.score) == ("英语", "阅读理解", 2.0)


def test_without_analysis_the_output_is_the_answer_and_the_instruction_asks_for_no_analysis(outcomes: dict) -> None:
    objective = outcomes[at(BIOLOGY, 10)]
    assert objective.output == "答案：C"
    assert objective.instruction == "这是一道高考生物选择题。请选出正确答案。"
    subjective = outcomes[at(GEOGRAPHY, 0)]  # analysis is only a line break
    assert subjective.output == (
        "答案：（1）上游植被破坏，水土流失加剧；下游地势平坦，流速减慢，泥沙沉积。\n（2）上游植树造林，保持水土；下游疏浚河道。"
    )
    assert subjective.instruction == "下面是一道2017年高考地理解答题，请写出答案。"


def test_unseen_file_names_still_build(outcomes: dict) -> None:
    geography = outcomes[at(GEOGRAPHY, 0)].metadata
    assert (geography.subject, geography.question_type, geography.objective) == ("地理", "解答题", False)
    unknown = outcomes[at(UNKNOWN, 0)]
    assert (unknown.metadata.subject, unknown.metadata.question_type) == ("综合", "解答题")
    assert unknown.instruction == "这是一道高考解答题。请写出答案，并给出解析。"


def test_string_score_and_latex_wrapped_multi_letter_choice(outcomes: dict) -> None:
    record = outcomes[at(BIOLOGY, 11)]  # score "6", answer ["BC"], analysis 故选：$\mathrm{BC}$
    assert isinstance(record, ExamInstruction)
    assert record.metadata.score == 6.0
    assert record.metadata.answer == ["BC"]
    assert record.output.startswith("答案：BC\n\n解析：")


def test_phrasing_rotates_by_record_and_is_stable(fixtures: Path) -> None:
    _, first = run(fixtures, FIXTURE_FILES)
    _, second = run(fixtures, FIXTURE_FILES)
    instructions = [item.instruction for item in first if isinstance(item, ExamInstruction)]
    assert instructions == [item.instruction for item in second if isinstance(item, ExamInstruction)]
    assert {text[:3] for text in instructions} == {"以下是", "下面是", "这是一"}


def test_one_outcome_per_raw_record_in_order(fixtures: Path) -> None:
    read_outcomes, built = run(fixtures, FIXTURE_FILES)
    raws = [item for item in read_outcomes if isinstance(item, RawRecord)]
    assert [item.locator for item in built] == [raw.locator for raw in raws]
    assert len(read_outcomes) == 14 + 3 + 2 + 1 + 1


# --- rejects ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locator", "reason", "detail"),
    [
        (at(BIOLOGY, 1), "missing_figure", "如图为某动物细胞分裂"),
        (at(BIOLOGY, 8), "missing_figure", "refers to a table (计了四种植物的株高，结果见下表"),
        (at(BIOLOGY, 3), "answer_contradicts_analysis", "the analysis concludes C, the answer key says B"),
        (at(READING, 1), "answer_contradicts_analysis", "sub-question 1 of 2: the analysis concludes B, the answer key says A"),
        (at(BIOLOGY, 4), "empty_question", "question text is empty"),
        (at(BIOLOGY, 5), "empty_answer", "answer is empty"),
        (at(MATH_FILL, 1), "empty_answer", "answer is empty"),
        (at(BIOLOGY, 6), "bad_year", "'二〇一九'"),
        (at(BIOLOGY, 12), "bad_score", "'六分'"),
        (at(BIOLOGY, 13), "malformed_answer", "['丙'] is not option letters"),
    ],
)
def test_rejects_with_a_named_reason(outcomes: dict, locator: str, reason: str, detail: str) -> None:
    reject = outcomes[locator]
    assert isinstance(reject, Reject)
    assert (reject.reason, reject.stage, reject.config, reject.source) == (
        reason, "build", "exam_instructions", "gaokao_bench",
    )
    assert detail in reject.detail
    assert json.loads(reject.raw)["keywords"] in locator


@pytest.mark.parametrize(
    ("locator", "why_kept"),
    [
        (at(BIOLOGY, 2), "试图, 地图 are not figures; 本题容易错选 A is not the final choice"),
        (at(BIOLOGY, 7), "如下表 with the table in the text"),
        (at(READING, 2), "one stated choice for two sub-questions is not compared"),
    ],
)
def test_near_misses_are_kept(outcomes: dict, locator: str, why_kept: str) -> None:
    assert isinstance(outcomes[locator], ExamInstruction), why_kept


@pytest.mark.parametrize(
    "question",
    [
        "如图所示，小球从A点释放",
        "下图为某地区气候资料",
        "图中①②③④中，能够反映这种现象的是（　　）",
        "能引起供给曲线从S移动到S′（见图）的是",
        "需求曲线和供给曲线如图 4所示",
        "图a和图 b分别反映两年的贸易网络",
        "据图分析，下列说法正确的是",
        "各组的实验结果见下表。据表分析，正确的是",
        "表中X代表的颜色应为",
        "下列说法错误的是（ ）\n\n![](https://cdn.mathpix.com/cropped/x.jpg)\nA. 放电时",
        "正确反映补贴前后供给变化的图示是（　　）\nA．  B．\nC．  D．",
        "若用供求曲线来反映，正确的是（）\nA．\n B．\nC．\n D．\n",
    ],
)
def test_missing_figure_flags(question: str) -> None:
    assert missing_figure(question) is not None


@pytest.mark.parametrize(
    "question",
    [
        "某同学试图在地图上标出迁徙路线",
        "他们企图掩盖真相，意图不明",
        "下列成语使用正确的是（　　）\nA．按图索骥 B．名垂青史",
        "《清明上河图 3.0》的高科技互动展演",
        "书中附有插图 2353幅",
        "活塞下表 面相对于气缸底部的高度为h",
        "式中p代表质子，n代表中子",
        "并与人合作发表一本关于牛顿力学的著作",
        "元素在周期表中的位置如下",
        "结果如下表：\n\\begin{tabular}{|c|c|}\n\\hline 1 & 2 \\\\\n\\end{tabular}",
        "结果如下表：\n组别 甲 乙 丙\n数量 12 15 9\n回答下列问题：",
        "材料如表：\n地理\n数学\n天文历算\n水利技术\n根据材料回答",
        "如图，空间存在匀强磁场\n$$\n\\begin{array}{cc}\n\\times & \\times\n\\end{array}\n$$",
    ],
)
def test_missing_figure_near_misses(question: str) -> None:
    assert missing_figure(question) is None


@pytest.mark.parametrize(
    ("answer", "analysis", "contradiction"),
    [
        (["D"], "D正确。\n故选：Ｄ。", None),
        (["D"], "故选D", None),
        (["C"], "应选 D.", "the analysis concludes D, the answer key says C"),
        (["B"], "所以选C", "the analysis concludes C, the answer key says B"),
        (["A"], "【解答】答案 A．...故答案为B", "the analysis concludes B, the answer key says A"),
        (["B"], "故选B。A不选，也不选D；本题容易错选 C。", None),
        (["BD"], "故选：B、D", None),
        (["BD"], "故选：$\\mathrm{B}$", "the analysis concludes B, the answer key says BD"),
        (["A"], "解析：所求分配方案数为 240.", None),
        (["C", "A"], "（1）故选：C。\n（2）故选：A。", None),
        (["C", "A"], "（1）故选：C。\n（2）故选：B。", "sub-question 2 of 2: the analysis concludes B, the answer key says A"),
        (["C", "A"], "56．C 细节理解题．\n57．B 推理判断题．", "sub-question 2 of 2: the analysis concludes B, the answer key says A"),
        (["C", "A", "D"], "（1）故选：B。\n（3）故选：D。", None),
    ],
)
def test_analysis_contradiction(answer: list[str], analysis: str, contradiction: str | None) -> None:
    assert analysis_contradiction(answer, analysis) == contradiction


@pytest.mark.parametrize(
    ("keywords", "objective", "subject", "question_type"),
    [
        ("2010-2022_History_MCQs", True, "历史", "选择题"),
        ("2010-2022_Geography_Open-ended_Questions", False, "地理", "解答题"),
        ("2010-2022_Math_II_Fill-in-the-Blank", False, "数学（文科）", "填空题"),
        ("2010-2022_Math_I_MCQs", True, "数学（理科）", "选择题"),
        ("2010-2022_Political_Science_MCQs", True, "政治", "选择题"),
        ("2010-2022_Chinese_Language_Classical_Chinese_Reading", False, "语文", "文言文阅读"),
        ("2010-2022_Chinese_Language_Famous_Passages_and_Sentences_Dictation", False, "语文", "名篇名句默写"),
        ("2010-2022_Chinese_Modern_Lit", True, "语文", "现代文阅读"),
        ("2010-2022_English_Fill_in_Blanks", True, "英语", "完形填空"),
        ("2012-2022_English_Cloze_Test", True, "英语", "七选五"),
        ("2014-2022_English_Language_Cloze_Passage", False, "英语", "语法填空"),
        ("2012-2022_English_Language_Error_Correction", False, "英语", "短文改错"),
        ("2023_Astronomy_Essays", True, "综合", "选择题"),
        ("2023_Astronomy_Essays", False, "综合", "解答题"),
    ],
)
def test_subject_and_type_from_file_name(keywords: str, objective: bool, subject: str, question_type: str) -> None:
    assert subject_of(keywords) == subject
    assert question_type_of(keywords, objective) == question_type


# --- the real GAOKAO-Bench files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def real(data_root: Path) -> dict:
    paths = sorted(str(p.relative_to(data_root)) for p in (data_root / "gaokao_bench").glob("*_Questions/*.json"))
    read_outcomes, built = run(data_root, paths)
    return {"paths": paths, "read": read_outcomes, "built": built}


def real_outcome(real: dict, source_id: str) -> ExamInstruction | Reject:
    """The outcome of a real example by its source id (upstream indexes equal positions)."""
    keywords, index = source_id.split("#")
    (outcome,) = [item for item in real["built"] if item.locator.endswith(f"/{keywords}.json#example[{index}]")]
    return outcome


@pytest.mark.realdata
def test_real_every_example_yields_exactly_one_outcome(real: dict, data_root: Path) -> None:
    examples = {path: len(json.loads((data_root / path).read_text(encoding="utf-8"))["example"]) for path in real["paths"]}
    assert len(examples) == 29
    assert examples["gaokao_bench/Objective_Questions/2010-2022_Biology_MCQs.json"] == 150
    assert sum(examples.values()) == len(real["read"]) == len(real["built"]) == 2467
    assert not [item for item in real["read"] if isinstance(item, Reject)]
    assert [item.locator for item in real["built"]] == [raw.locator for raw in real["read"]]
    reasons = Counter(item.reason for item in real["built"] if isinstance(item, Reject))
    assert reasons == {"missing_figure": 21, "answer_contradicts_analysis": 8}


@pytest.mark.realdata
def test_real_contradictions_are_these(real: dict) -> None:
    flagged = {
        json.loads(item.raw)["keywords"] + f"#{json.loads(item.raw)['index']}"
        for item in real["built"]
        if isinstance(item, Reject) and item.reason == "answer_contradicts_analysis"
    }
    assert flagged == {
        "2010-2022_Biology_MCQs#9",  # 故选： BD, key B
        "2010-2022_Chemistry_MCQs#77",  # 故选： $A B$, key A
        "2010-2022_Political_Science_MCQs#278",  # ②④正确 ... 故本题选C, key D (②④)
        "2010-2022_English_Reading_Comp#23",  # 67．A ... 故选 B
        "2010-2022_English_Reading_Comp#123",  # question 12: 故选C项, key D
        "2010-2022_English_Fill_in_Blanks#1",  # 36. D ... 故选 C
        "2010-2022_English_Fill_in_Blanks#9",  # 52.C ... 故选 A项
        "2012-2022_English_Cloze_Test#5",  # 36．B ... 故选 D
    }
    assert real_outcome(real, "2010-2022_Political_Science_MCQs#278").detail == (
        "the analysis concludes C, the answer key says D"
    )
    assert real_outcome(real, "2010-2022_English_Fill_in_Blanks#9").detail == (
        "sub-question 12 of 20: the analysis concludes A, the answer key says C"
    )


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("source_id", "reason"),
    [
        ("2010-2022_Political_Science_MCQs#21", "missing_figure"),  # 漫画（如图）
        ("2010-2022_Political_Science_MCQs#168", "missing_figure"),  # options were pictures
        ("2010-2022_Chemistry_MCQs#8", "missing_figure"),  # figure only as an image link
        ("2010-2022_Political_Science_Open-ended_Questions#4", "missing_figure"),  # 如图 1、图2所示
        ("2010-2022_Chinese_Lang_and_Usage_MCQs#46", None),  # 按图索骥
        ("2010-2022_Physics_Open-ended_Questions#12", None),  # 活塞下表 面
        ("2010-2022_Biology_Open-ended_Questions#92", None),  # 密码子如表所示, table given above
        ("2010-2022_History_Open-ended_Questions#121", None),  # 表2 with prose cells
        ("2010-2022_Physics_MCQs#32", None),  # 如图 with the field drawn as an array
    ],
)
def test_real_figure_checks(real: dict, source_id: str, reason: str | None) -> None:
    outcome = real_outcome(real, source_id)
    if reason is None:
        assert isinstance(outcome, ExamInstruction)
    else:
        assert isinstance(outcome, Reject) and outcome.reason == reason


@pytest.mark.realdata
def test_real_records_are_typed_and_named(real: dict) -> None:
    records = [item for item in real["built"] if isinstance(item, ExamInstruction)]
    kinds = Counter((r.metadata.subject, r.metadata.question_type) for r in records)
    assert kinds[("英语", "七选五")] == 25
    assert kinds[("语文", "名篇名句默写")] == 28
    assert "综合" not in {r.metadata.subject for r in records}
    assert len({r.id for r in records}) == len(records)
    first = real_outcome(real, "2010-2022_Biology_MCQs#0")
    assert first.metadata == ExamMetadata(
        subject="生物", year=2010, category="（新课标）", question_type="选择题", objective=True, answer=["D"], score=6.0
    )
    assert first.output.startswith("答案：D\n\n解析：解： A、病毒是不具有细胞结构的生物")
