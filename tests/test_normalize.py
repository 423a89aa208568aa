from coig.normalize import normalize_fields, normalize_records, normalize_text, split_code


def test_traditional_becomes_simplified():
    assert normalize_text("這是繁體中文，請轉換。") == "这是繁体中文，请转换。"


def test_traditional_kept_when_switched_off():
    assert normalize_text("這是繁體", to_simplified=False) == "這是繁體"


def test_fullwidth_letters_and_digits_become_halfwidth_but_chinese_punctuation_stays():
    assert normalize_text("答案：Ｄ，共１２分（含ａｂ）！") == "答案：D，共12分（含ab）！"


def test_control_and_zero_width_characters_are_removed():
    assert normalize_text("零\u200b宽\u200d字\ufeff符\x07号\x00") == "零宽字符号"


def test_whitespace_is_tidied():
    text = "  第一行 has   many   spaces  \r\n\r\n\r\n\r\n第二行\t\tend　　"
    assert normalize_text(text) == "第一行 has many spaces\n\n第二行 end"


def test_code_blocks_are_never_altered():
    code = '```python\nx = "漢字  ＡＢ"   \n\n\n\n\tif x:\u200b\n        pass\n```'
    text = f"請看代碼：\n\n{code}\n\n說明：Ｏ(ｎ)"
    assert normalize_text(text) == f"请看代码：\n\n{code}\n\n说明：O(n)"


def test_unclosed_code_block_runs_to_the_end_untouched():
    assert split_code("文字\n```js\nlet a = '繁體';  ") == [(False, "文字\n"), (True, "```js\nlet a = '繁體';  ")]


def test_fields_of_a_record_are_converted_together_and_kept_apart():
    assert normalize_fields(["問題", "", "答案：ｙｅｓ"]) == ["问题", "", "答案：yes"]


def test_normalize_records_uses_the_per_source_switch():
    records = [
        {"source": "keep", "instruction": "繁體", "input": "", "output": "輸出"},
        {"source": "convert", "instruction": "繁體", "input": "", "output": "輸出"},
    ]
    out = list(normalize_records(records, {"keep": False, "convert": True}))
    assert [(r["instruction"], r["output"]) for r in out] == [("繁體", "輸出"), ("繁体", "输出")]


def test_spaces_left_by_pdf_extraction_between_chinese_are_dropped_but_not_between_chinese_and_latin():
    assert normalize_text("4．（ 6分）草本阶段 ，其中 灌木 阶段") == "4．（6分）草本阶段，其中灌木阶段"
    assert normalize_text("使用 Python 语言， 输出 n 的值") == "使用 Python 语言，输出 n 的值"
    assert normalize_text("比赛打响， NBA 球员。 2023年") == "比赛打响，NBA 球员。2023年"
