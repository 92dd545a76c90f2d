"""The course's key terms in English and Chinese, with a one-line definition each.

``chinese`` is the usual Chinese term; ``d2l_zh`` is the term of the Chinese edition of Dive
into Deep Learning (《动手学深度学习》) where it differs, so that a student reading both
finds the same idea under both names.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["GLOSSARY", "Term", "glossary_table", "chinese_term"]

Term = tuple[str, str, str, str]  # english, chinese, d2l_zh ("" when the same), definition

GLOSSARY: list[Term] = [
    ("convolutional layer", "卷积层", "",
     "slides small learned kernels over the input; each kernel makes one feature map"),
    ("kernel (filter)", "卷积核", "",
     "the small grid of weights a convolution slides over its input"),
    ("channel", "通道", "",
     "one of the stacked 2-D maps of an image or a layer's output (RGB has 3)"),
    ("feature map", "特征图", "特征映射",
     "the 2-D output of one kernel: where in the image its pattern occurs"),
    ("stride", "步幅", "",
     "how many pixels a kernel or pooling window moves between two outputs"),
    ("padding", "填充", "",
     "extra pixels (usually zeros) around the input, to control the output size"),
    ("receptive field", "感受野", "",
     "the input pixels that one output value depends on"),
    ("pooling layer", "池化层", "汇聚层",
     "summarises each small window by its maximum or average, shrinking the maps"),
    ("max pooling", "最大池化", "最大汇聚",
     "pooling that keeps the largest value of each window"),
    ("fully connected layer", "全连接层", "",
     "every output is a weighted sum of every input (nn.Linear)"),
    ("activation function", "激活函数", "",
     "the nonlinearity applied after a layer (sigmoid, tanh, ReLU)"),
    ("rectified linear unit (ReLU)", "修正线性单元", "",
     "max(0, x): slope 1 for positive inputs, so gradients do not shrink"),
    ("vanishing gradient", "梯度消失", "",
     "gradients shrinking layer by layer on the way back, so early layers barely learn"),
    ("local response normalization (LRN)", "局部响应归一化", "",
     "AlexNet's division of each activation by the activity of neighbouring channels"),
    ("batch normalization", "批量归一化", "批量规范化",
     "normalises each channel over the mini-batch, then rescales it with learned values"),
    ("dropout", "丢弃法", "暂退法",
     "randomly zeroes units during training so that no unit can rely on another"),
    ("data augmentation", "数据增强", "图像增广",
     "training on randomly changed copies of the images (crops, flips, colour)"),
    ("overfitting", "过拟合", "",
     "fitting the training data much better than unseen data"),
    ("weight decay", "权重衰减", "",
     "a penalty on large weights, added to the loss (L2 regularisation)"),
    ("learning rate", "学习率", "",
     "the size of each gradient descent step"),
    ("mini-batch", "小批量", "",
     "the few examples whose average gradient makes one training step"),
    ("epoch", "轮次", "迭代周期",
     "one pass over all the training data"),
    ("softmax", "softmax 函数", "",
     "turns a vector of scores into probabilities that sum to 1"),
    ("cross-entropy loss", "交叉熵损失", "",
     "minus the log of the probability the model gives the true class"),
    ("number of parameters", "参数量", "",
     "how many trainable values (weights and biases) a model has"),
    ("multiply-accumulate (MAC)", "乘加运算", "",
     "one multiplication and one addition: the unit of a layer's compute"),
    ("residual connection", "残差连接", "",
     "adds a block's input to its output, so very deep networks still train (ResNet)"),
]


def glossary_table() -> pd.DataFrame:
    """The glossary as a table: English, 中文, the d2l-zh term where it differs, and a definition.

    >>> table = glossary_table()
    >>> table.loc[table["English"] == "dropout", ["中文", "d2l 中文版"]].values.tolist()
    [['丢弃法', '暂退法']]
    """
    return pd.DataFrame(GLOSSARY, columns=["English", "中文", "d2l 中文版", "definition"])


def chinese_term(english: str) -> str:
    """The Chinese term for an English one (case-insensitive; the text before any parenthesis counts too).

    >>> chinese_term("Pooling layer"), chinese_term("ReLU")
    ('池化层', '修正线性单元')
    """
    wanted = english.strip().lower()
    for term in GLOSSARY:
        names = {term[0].lower(), term[0].split(" (")[0].lower()}
        if "(" in term[0]:
            names.add(term[0].split("(")[1].rstrip(")").lower())
        if wanted in names:
            return term[1]
    raise KeyError(f"{english!r} is not in the glossary; the terms are: {', '.join(t[0] for t in GLOSSARY)}.")
