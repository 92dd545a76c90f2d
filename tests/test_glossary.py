"""The glossary: the terms issue 12 asked for, the lookups both ways, and notebook 08's table shown whole.

References: the Chinese terms the course uses (the issue's list, written here once), and the
committed output of notebook 08's glossary cell, which nbval keeps equal to a fresh run.
"""

from __future__ import annotations

import html

import nbformat
import pytest

from alexnet_lib.course import checks
from alexnet_lib.course.glossary import GLOSSARY, chinese_term, english_term, glossary_table, terms_in
from conftest import ROOT

# Every Chinese term a student meets in the course or its usual sources, each in one of the columns.
EXPECTED_CHINESE = (
    "卷积层", "卷积核", "滤波器", "通道", "特征图", "步幅", "步长", "填充", "感受野", "池化层", "汇聚层", "最大池化",
    "平均池化", "平均汇聚", "重叠池化", "全局平均池化", "下采样", "分组卷积", "权值共享", "局部连接", "全连接层",
    "激活函数", "sigmoid 函数", "双曲正切", "修正线性单元", "梯度消失", "局部响应归一化", "批量归一化", "批归一化",
    "批量规范化", "Dropout", "随机失活", "丢弃法", "暂退法", "数据增强", "数据增广", "图像增广", "过拟合", "权重衰减",
    "学习率", "动量", "权重初始化", "小批量", "轮", "训练轮数", "迭代周期", "交叉熵损失", "参数量", "乘加运算",
    "残差连接", "混淆矩阵", "遮挡敏感性", "top-5 错误率", "迁移学习",
    # terms the course uses in notebooks 01, 02, 06 and 09, and in its validation split
    "数据并行", "模型并行", "全归约", "随机梯度下降", "批量大小", "验证集", "主成分分析", "径向基函数", "空洞卷积", "扩张卷积",
    "卷积神经网络",
)


def test_image_augmentation_is_kept_apart_from_data_augmentation():
    assert english_term("图像增广") == "image augmentation" and english_term("数据增广") == "data augmentation"


def _all_chinese() -> list[str]:
    return [t for term in GLOSSARY for t in terms_in(term.chinese) + terms_in(term.d2l_zh)]


def test_every_expected_term_is_there_once():
    found = _all_chinese()
    assert [t for t in EXPECTED_CHINESE if t not in found] == []
    assert len(found) == len(set(found)), "a Chinese term names two English ones"
    assert glossary_table()["English"].is_unique
    assert all(term.definition and "..." not in term.definition and "…" not in term.definition for term in GLOSSARY)


def test_dropout_and_epoch_names_are_labelled():
    dropout = next(t for t in GLOSSARY if t.english == "dropout")
    assert "Dropout (kept in English)" in dropout.chinese and "随机失活" in dropout.chinese
    assert "暂退法 (2nd edition)" in dropout.d2l_zh and "丢弃法 (1st edition)" in dropout.d2l_zh
    assert "often left untranslated" in chinese_term("epoch")


@pytest.mark.parametrize("term", GLOSSARY, ids=lambda t: t.english)
def test_lookups_go_both_ways(term):
    english = term.english.split(" (")[0]
    assert chinese_term(english) == term.chinese
    for chinese in terms_in(term.chinese) + terms_in(term.d2l_zh):
        assert english_term(chinese) == english


def test_unknown_terms_say_what_to_do(capsys):
    with pytest.raises(KeyError, match="not in the glossary; the terms are: convolutional neural network"):
        chinese_term("transformer")
    with pytest.raises(KeyError, match="not in the glossary's Chinese columns"):
        english_term("注意力")
    with pytest.raises(ValueError, match="not in the glossary's Chinese columns"):
        checks.check_english_term("attention", "注意力")
    checks.check_english_term("Dropout", "随机失活")
    checks.check_english_term("batch normalization", "批归一化")
    assert capsys.readouterr().out.splitlines() == ["Right: 'dropout'.", "Right: 'batch normalization'."]


def _glossary_outputs() -> dict[str, str]:
    nb = nbformat.read(ROOT / "notebooks" / "08_recap.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "glossary_table()" in c.source)
    data = [o["data"] for o in cell.outputs if o.get("output_type") in ("display_data", "execute_result")]
    assert len(data) == 1, "the glossary cell shows one table"
    return {"text/plain": data[0]["text/plain"], "text/html": html.unescape(data[0]["text/html"])}


@pytest.mark.parametrize("mime", ["text/plain", "text/html"])
def test_notebook_shows_every_definition_whole(mime):
    shown = _glossary_outputs()[mime]
    assert "..." not in shown and "…" not in shown, "pandas cut a definition short"
    for term in GLOSSARY:
        for text in (term.english, term.chinese, term.d2l_zh, term.definition):
            assert text in shown, f"{text!r} is missing from the glossary table's {mime}"
