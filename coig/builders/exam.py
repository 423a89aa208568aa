"""Exam instructions from GAOKAO-Bench questions: the question as input, answer and analysis as output.

Subject and question type come from the upstream file name (e.g. `2010-2022_Math_I_MCQs`), so
upstream files this module has not seen still build: unknown names fall back to 综合 and to
选择题 or 解答题. Questions whose figure or table is missing, and objective questions whose
analysis concludes with a different choice than the answer key, are rejected with a named reason.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from coig.builders import BuildContext
from coig.records import (
    ExamInstruction,
    ExamMetadata,
    RawRecord,
    Reject,
    make_id,
    raw_json,
)
from coig.sources import Source

CONFIG = ExamInstruction.config

# Upstream file-name tokens (after the year range) -> subject; the longest matching token wins.
SUBJECTS = {
    "Biology": "生物",
    "Chemistry": "化学",
    "Chinese": "语文",
    "English": "英语",
    "Geography": "地理",
    "History": "历史",
    "Math_I": "数学（理科）",
    "Math_II": "数学（文科）",
    "Physics": "物理",
    "Political_Science": "政治",
}
SUBJECT_TOKENS = sorted(SUBJECTS, key=len, reverse=True)
UNKNOWN_SUBJECT = "综合"

# File-name pattern -> question type; the first match wins, so specific patterns come first.
# Upstream's English names do not say what the items are: "Fill_in_Blanks" holds the 20-blank
# four-option cloze, "Cloze_Test" the seven-options-for-five-blanks passage, "Cloze_Passage" the
# grammar fill-in.
QUESTION_TYPES = [
    (r"English.*Fill_in_Blanks", "完形填空"),
    (r"English.*Cloze_Test", "七选五"),
    (r"English.*Cloze_Passage", "语法填空"),
    (r"Error_Correction", "短文改错"),
    (r"Reading_Comp", "阅读理解"),
    (r"Dictation|Famous_Passages", "名篇名句默写"),
    (r"Modern_Lit", "现代文阅读"),
    (r"Ancient_Poetry", "古代诗歌阅读"),
    (r"Classical_Chinese", "文言文阅读"),
    (r"Literary_Text", "文学类文本阅读"),
    (r"Practical_Text", "实用类文本阅读"),
    (r"Language_and_Writing", "语言文字运用"),
    (r"Cloze", "完形填空"),
    (r"Fill_in_Blanks?|Fill-in-the-Blanks?", "填空题"),
    (r"MCQs?|Multiple_Choice", "选择题"),
    (r"Open-ended|Open_ended", "解答题"),
]
QUESTION_TYPES_RE = [(re.compile(pattern, re.IGNORECASE), name) for pattern, name in QUESTION_TYPES]

# What the instruction asks for, by question type; types not listed use the objective/subjective default.
TASKS = {
    "完形填空": "请为每个空白选出最佳选项",
    "七选五": "请从选项中为每个空白选出最恰当的一项",
    "阅读理解": "请阅读短文，依次选出各小题的正确答案",
    "现代文阅读": "请阅读材料，依次选出各小题的正确答案",
    "填空题": "请写出空白处应填的答案",
    "语法填空": "请在空白处填入适当的内容或括号内单词的正确形式",
    "短文改错": "请找出并改正短文中的错误",
    "名篇名句默写": "请补写出空缺部分",
    "古代诗歌阅读": "请阅读材料，回答问题",
    "文言文阅读": "请阅读材料，回答问题",
    "文学类文本阅读": "请阅读材料，回答问题",
    "实用类文本阅读": "请阅读材料，回答问题",
    "语言文字运用": "请按要求作答",
}
OBJECTIVE_TASK = "请选出正确答案"
OBJECTIVE_MULTI_TASK = "请依次选出各小题的正确答案"
SUBJECTIVE_TASK = "请写出答案"

# Phrasings rotate by record id, so a given record always gets the same one.
FRAMES = (
    "以下是一道高考{subject}{kind}，{task}",
    "下面是一道{year}年高考{subject}{kind}，{task}",
    "这是一道高考{subject}{kind}。{task}",
)

# --- missing figures and tables ------------------------------------------------------------

# Words and idioms that hold 图 or 表 without pointing at a figure or table, and titles of books
# or paintings (《清明上河图》); blanked before looking for references.
NOT_REFERENCES = re.compile(
    r"《[^》\n]*》|地图|(?<!示)意图|企图|试图|力图|版图|蓝图|宏图|鸿图|贪图|插图|构图|图章|图书|图腾|图案|图谋|图强"
    r"|按图索骥|图穷匕见|励精图治|唯利是图|图文"
    r"|代表|发表|外表|地表|体表|周期表|仪表|手表|钟表"
)
NOT_A_TABLE_WORD = r"(?!\s*[面现示达明演述情扬彰决率])"  # 表面, 表现, ... even with a stray space
FIGURE_REFERENCE = re.compile(
    r"如[下上右左]?图|[见据由从读看依按]\s*[下上右左]?图|[下上右左]图|图中|图示"
    r"|图\s*(?:[0-9０-９]+|[a-dA-Dａ-ｄ甲乙丙丁](?![A-Za-z]))"
)
TABLE_REFERENCE = re.compile(
    rf"(?:如[下上]?表|[见据由从依按]\s*[下上]?表|[下上]表|表(?=中)|表(?=\s*[0-9０-９一二三四甲乙丙丁])){NOT_A_TABLE_WORD}"
)
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b", re.IGNORECASE)
LATEX_TABLE = re.compile(r"\\begin\{(?:tabular|array)\}|^\s*\|.*\|\s*$|<table\b", re.MULTILINE)
# Every option is blank: the options were pictures.
PICTURE_OPTIONS = re.compile(r"A\s*[．.、]\s*B\s*[．.、]\s*C\s*[．.、]\s*D\s*[．.、]?\s*$")
NUMBERED_LINE = re.compile(r"^(?:[（(]\s*\d+\s*[)）]|\d+\s*[．.、]|[A-G]\s*[．.、])")
SENTENCE_PUNCTUATION = re.compile(r"[，。；？！]")
NUMBER_CELL = re.compile(r"^[-+]?[0-9０-９][0-9０-９.．,%％]*$")


def _has_text_table(question: str) -> bool:
    """True if the question holds a table: LaTeX, Markdown or HTML, or plain-text rows.

    Tables extracted from PDFs come out as lines of cells split by spaces, or as runs of short
    lines; prose comes out as long lines with sentence punctuation. A table counts as present
    with two rows of cells, three table-like lines in a row, or one line of many numbers.
    """
    if LATEX_TABLE.search(question):
        return True
    rows = run = 0
    for line in question.splitlines():
        line = line.strip()
        cells = line.split()
        if sum(bool(NUMBER_CELL.match(cell)) for cell in cells) >= 6:
            return True  # a table flattened onto one line
        prose = not line or bool(NUMBERED_LINE.match(line) or SENTENCE_PUNCTUATION.search(line))
        is_row = not prose and len(cells) >= 2
        is_short = not prose and len(line) <= 8 and not line.endswith(("：", ":"))
        rows += is_row
        run = run + 1 if is_row or is_short else 0
        if rows >= 2 or run >= 3:
            return True
    return False


def missing_figure(question: str) -> str | None:
    """What shows that the question needs a figure or table it does not hold, or None."""
    if match := IMAGE_LINK.search(question):
        return f"the figure is only an image link: {match.group()[:80]}"
    if PICTURE_OPTIONS.search(question):
        return "every option is blank (the options were pictures)"
    text = NOT_REFERENCES.sub(lambda m: "□" * len(m.group()), question)
    if match := FIGURE_REFERENCE.search(text):
        if not LATEX_TABLE.search(question):  # a drawing transcribed as an array counts as present
            return f"refers to a figure ({_context(question, match)}) that the text does not contain"
    if match := TABLE_REFERENCE.search(text):
        if not _has_text_table(question):
            return f"refers to a table ({_context(question, match)}) that the text does not contain"
    return None


def _context(text: str, match: re.Match[str], width: int = 12) -> str:
    start, end = max(0, match.start() - width), match.end() + width
    return text[start:end].replace("\n", " ").strip()


# --- the analysis's own conclusion ----------------------------------------------------------

LATEX_WRAPPER = re.compile(r"\\(?:mathrm|text|textbf|mathbf|operatorname)\s*\{\s*([^{}]*?)\s*\}")
LETTERS = r"[A-G](?:[\s、,，和与及]*[A-G])*(?![A-Za-z])"
# 故选：D / 应选 D / 所以选C / 答案为B / 正确答案是 B / 故本题选 B / 故答案选择 B ... (not 不选, 错选, 排除)
CHOICE_STATEMENT = re.compile(rf"(?:(?<![不错误漏排])选|答案(?:应该?)?(?:为|是|选择?)?)\s*[:：]?\s*({LETTERS})")
# "56．B 细节理解题": a sub-question number followed by its answer, at the start of a line.
NUMBERED_CHOICE = re.compile(rf"(?m)^\s*\d{{1,3}}\s*[.．、]\s*({LETTERS})(?!\s*项)")
# Where the analysis of the next sub-question starts: "57．", "【13题详解】", "（2）".
SUB_QUESTION_START = re.compile(r"(?m)^(?=\s*(?:\d{1,3}\s*[.．、]|【\d+题|[（(]\d{1,2}[)）]))")


def _letters(text: str) -> str:
    return "".join(sorted(set(re.findall(r"[A-G]", text))))


def _plain(text: str) -> str:
    """Full-width letters to ASCII, LaTeX wrappers around letters removed; only for matching."""
    text = unicodedata.normalize("NFKC", text)
    return LATEX_WRAPPER.sub(r"\1", text).replace("$", "")


def _statements(text: str) -> list[str]:
    return [_letters(match.group(1)) for match in CHOICE_STATEMENT.finditer(text)]


def analysis_contradiction(answer: list[str], analysis: str) -> str | None:
    """How the analysis's stated choice differs from the answer key, or None if it agrees or says nothing."""
    expected = [_letters(_plain(item)) for item in answer]
    text = _plain(analysis)
    if len(expected) == 1:
        stated = _statements(text)
        if stated and stated[-1] != expected[0]:
            return f"the analysis concludes {stated[-1]}, the answer key says {expected[0]}"
        return None
    # Several sub-questions: compare only a sequence with one choice per sub-question. The final
    # statements (every one, or the last of each sub-question's part) come first; "57．C"-style
    # lines count only when the statements do not give one choice per sub-question.
    per_part = [stated[-1] for part in SUB_QUESTION_START.split(text) if (stated := _statements(part))]
    readings = [seq for seq in (_statements(text), per_part) if len(seq) == len(expected)]
    if not readings:
        numbered = [_letters(match.group(1)) for match in NUMBERED_CHOICE.finditer(text)]
        readings = [numbered] if len(numbered) == len(expected) else []
    if readings and expected not in readings:
        return "; ".join(
            f"sub-question {number} of {len(expected)}: the analysis concludes {stated}, the answer key says {key}"
            for number, (stated, key) in enumerate(zip(readings[0], expected), start=1)
            if stated != key
        )
    return None


# --- names, fields and the record ------------------------------------------------------------


def subject_of(keywords: str) -> str:
    name = re.sub(r"^\d{4}(?:-\d{4})?_", "", keywords)
    for token in SUBJECT_TOKENS:
        if name == token or name.startswith(token + "_"):
            return SUBJECTS[token]
    return UNKNOWN_SUBJECT


def question_type_of(keywords: str, objective: bool) -> str:
    for pattern, name in QUESTION_TYPES_RE:
        if pattern.search(keywords):
            return name
    return "选择题" if objective else "解答题"


def instruction_for(
    record_id: str, subject: str, question_type: str, year: int, objective: bool, sub_questions: int, explained: bool
) -> str:
    if question_type in TASKS:
        task = TASKS[question_type]
    elif objective:
        task = OBJECTIVE_MULTI_TASK if sub_questions > 1 else OBJECTIVE_TASK
    else:
        task = SUBJECTIVE_TASK
    task += "，并给出解析。" if explained else "。"
    kind = question_type if question_type.endswith("题") else question_type + "题"
    frame = FRAMES[int(record_id, 16) % len(FRAMES)]
    shown_subject = "" if subject == UNKNOWN_SUBJECT else subject
    return frame.format(subject=shown_subject, kind=kind, year=year, task=task)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _year(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and (match := re.fullmatch(r"\s*(\d{4})\s*年?\s*", unicodedata.normalize("NFKC", value))):
        number = int(match.group(1))
    else:
        return None
    return number if 1949 <= number <= 2100 else None


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if math.isfinite(score) and score >= 0 else None


def _answer(value: Any, objective: bool) -> list[str] | str | None:
    """The answer as a list of option letters (objective) or one text; None if it has the wrong shape."""
    if objective:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            return None
        return [item.strip() for item in items if item.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = "\n".join(value)
    return value.strip() if isinstance(value, str) else None


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def build(raws: Iterable[RawRecord], source: Source, context: BuildContext) -> Iterator[ExamInstruction | Reject]:
    for raw in raws:
        try:
            yield _record(raw, source)
        except _Rejected as rejected:
            yield Reject(
                source=raw.source,
                locator=raw.locator,
                reason=rejected.reason,
                stage="build",
                raw=raw_json(raw.data),
                detail=rejected.detail,
                config=CONFIG,
            )


def _record(raw: RawRecord, source: Source) -> ExamInstruction:
    data = raw.data
    keywords = str(data.get("keywords") or "")
    objective = data.get("kind") == "objective"

    question = _text(data.get("question"))
    if not question:
        raise _Rejected("empty_question", "the question text is empty or missing")
    answer = _answer(data.get("answer"), objective)
    if answer is None:
        shape = "a list of option letters" if objective else "a text"
        raise _Rejected("malformed_answer", f"the answer is {type(data.get('answer')).__name__}, expected {shape}")
    if not answer:
        raise _Rejected("empty_answer", "the answer is empty or missing")
    if objective and not all(re.fullmatch(r"[A-G]+", unicodedata.normalize("NFKC", item)) for item in answer):
        raise _Rejected("malformed_answer", f"objective answer {answer!r} is not option letters A-G")
    year = _year(data.get("year"))
    if year is None:
        raise _Rejected("bad_year", f"year {data.get('year')!r} is not a year")
    score = _score(data.get("score"))
    if score is None:
        raise _Rejected("bad_score", f"score {data.get('score')!r} is not a non-negative number")
    if problem := missing_figure(question):
        raise _Rejected("missing_figure", problem)
    analysis = _text(data.get("analysis"))
    if objective and (problem := analysis_contradiction(answer, analysis)):
        raise _Rejected("answer_contradicts_analysis", problem)

    subject = subject_of(keywords)
    question_type = question_type_of(keywords, objective)
    record_id = make_id(CONFIG, source.name, raw.source_id or raw.locator)
    shown = "、".join(answer) if objective else answer
    output = f"答案：{shown}\n\n解析：{analysis}" if analysis else f"答案：{shown}"
    sub_questions = len(answer) if objective else 1
    return ExamInstruction(
        id=record_id,
        instruction=instruction_for(record_id, subject, question_type, year, objective, sub_questions, bool(analysis)),
        input=question,
        output=output,
        source=source.name,
        source_id=raw.source_id,
        locator=raw.locator,
        license=source.license,
        metadata=ExamMetadata(
            subject=subject,
            year=year,
            category=str(data.get("category") or ""),
            question_type=question_type,
            objective=objective,
            answer=answer if objective else [answer],
            score=score,
        ),
    )
