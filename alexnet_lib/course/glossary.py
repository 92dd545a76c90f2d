"""The course's key terms in English and Chinese, with a one-line definition each.

``chinese`` lists the usual Chinese terms, synonyms separated by `` / ``, a note in
parentheses after a term (``Dropout (kept in English) / 随机失活``). ``d2l_zh`` is the term of
the second Chinese edition of Dive into Deep Learning (《动手学深度学习》第二版) where it
differs, so that a student reading both finds the same idea under both names; for dropout it
gives the first edition's term too, labelled. :func:`terms_in` splits a column into its terms.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import pandas as pd

__all__ = ["GLOSSARY", "Term", "chinese_term", "english_term", "glossary_table", "terms_in"]


class Term(NamedTuple):
    """One glossary entry: the English term, the usual Chinese terms, d2l-zh's where it differs, a definition."""

    english: str
    chinese: str
    d2l_zh: str  # "" when d2l-zh says the same
    definition: str


GLOSSARY: list[Term] = [Term(*fields) for fields in [
    # convolutions and their arithmetic
    ("convolutional neural network (CNN)", "卷积神经网络 (CNN)", "",
     "a network built mainly of convolutional layers, usually with pooling, ending in a classifier"),
    ("convolutional layer", "卷积层", "",
     "slides small learned kernels over the input; each kernel makes one feature map"),
    ("kernel (filter)", "卷积核 / 滤波器", "",
     "the small grid of weights a convolution slides over its input"),
    ("channel", "通道", "",
     "one of the stacked 2-D maps of an image or a layer's output (RGB has 3)"),
    ("feature map", "特征图", "特征映射",
     "the 2-D output of one kernel: where in the image its pattern occurs"),
    ("stride", "步幅 / 步长", "",
     "how many pixels a kernel or pooling window moves between two outputs"),
    ("padding", "填充", "",
     "extra pixels (usually zeros) around the input, to control the output size"),
    ("receptive field", "感受野", "",
     "the input pixels that one output value depends on"),
    ("local connectivity", "局部连接", "",
     "each output of a convolution depends only on a small window of the input, not on all of it"),
    ("weight sharing", "权值共享 / 权重共享", "",
     "a convolution uses the same kernel at every position, so its weights do not grow with the image"),
    ("grouped convolution", "分组卷积", "",
     "splits the channels into groups, each output group reading only its own input group "
     "(AlexNet's two GPUs: groups=2 in conv2, conv4 and conv5)"),
    ("dilated convolution", "空洞卷积 / 扩张卷积", "",
     "a convolution whose kernel taps are spread apart (dilation d leaves d − 1 pixels between them)"),
    ("downsampling (subsampling)", "下采样 / 子采样", "",
     "shrinking a map's height and width, by a stride above 1 or by pooling"),
    # pooling and normalisation
    ("pooling layer", "池化层", "汇聚层",
     "summarises each small window by its maximum or average, shrinking the maps"),
    ("max pooling", "最大池化", "最大汇聚",
     "pooling that keeps the largest value of each window"),
    ("average pooling", "平均池化", "平均汇聚",
     "pooling that keeps the mean of each window"),
    ("overlapping pooling", "重叠池化", "",
     "pooling whose stride is smaller than its window, so neighbouring windows share inputs "
     "(AlexNet: 3×3 windows, stride 2)"),
    ("global average pooling", "全局平均池化", "全局平均汇聚",
     "averages each whole feature map to one value per channel, instead of large fully connected layers"),
    ("local response normalization (LRN)", "局部响应归一化", "",
     "AlexNet's division of each activation by the activity of neighbouring channels"),
    ("batch normalization (BN)", "批量归一化 / 批归一化 (BN)", "批量规范化",
     "normalises each channel over the mini-batch, then rescales it with learned values"),
    # layers and activations
    ("fully connected layer", "全连接层", "",
     "every output is a weighted sum of every input (nn.Linear)"),
    ("activation function", "激活函数", "",
     "the nonlinearity applied after a layer (sigmoid, tanh, ReLU)"),
    ("sigmoid function", "sigmoid 函数 / S 型函数", "",
     "1 / (1 + exp(-x)): squashes any input into (0, 1); its slope is at most 0.25"),
    ("hyperbolic tangent (tanh)", "双曲正切 (tanh) / tanh 函数", "",
     "squashes any input into (-1, 1); tanh(x) = 2·sigmoid(2x) - 1, its slope at most 1"),
    ("rectified linear unit (ReLU)", "修正线性单元", "",
     "max(0, x): slope 1 for positive inputs and 0 for negative ones; an active unit passes its gradient on unscaled, "
     "but small weights can still shrink it layer by layer (notebook 03 measures this)"),
    ("vanishing gradient", "梯度消失", "",
     "gradients shrinking layer by layer on the way back, so early layers barely learn"),
    ("residual connection", "残差连接", "",
     "adds a block's input to its output, so very deep networks still train (ResNet)"),
    ("radial basis function (RBF)", "径向基函数 (RBF)", "",
     "a unit that outputs a distance between its input and a stored vector (LeNet-5's output layer)"),
    ("softmax", "softmax 函数", "",
     "turns a vector of scores into probabilities that sum to 1"),
    # training
    ("weight initialization", "权重初始化", "",
     "the random values weights start from; their scale decides whether signals keep their size "
     "through many layers (AlexNet: zero-mean Gaussian, standard deviation 0.01)"),
    ("cross-entropy loss", "交叉熵损失", "",
     "minus the log of the probability the model gives the true class"),
    ("stochastic gradient descent (SGD)", "随机梯度下降 (SGD)", "",
     "gradient descent on the gradient of one mini-batch at a time instead of the whole training set"),
    ("batch size", "批量大小 / 批大小", "",
     "how many examples make one mini-batch (AlexNet: 128)"),
    ("learning rate", "学习率", "",
     "the size of each gradient descent step"),
    ("momentum", "动量", "动量法",
     "gradient descent that steps along a decaying sum of past gradients, not the last one alone (AlexNet: 0.9)"),
    ("weight decay", "权重衰减", "",
     "a penalty on large weights, added to the loss (L2 regularisation)"),
    ("mini-batch", "小批量", "",
     "the few examples whose average gradient makes one training step"),
    ("epoch", "轮 / 训练轮数 / epoch (often left untranslated)", "迭代周期",
     "one pass over all the training data"),
    ("overfitting", "过拟合", "",
     "fitting the training data much better than unseen data"),
    ("validation set", "验证集", "",
     "examples held out of training to choose settings (learning rate, epochs); the test set is kept for the final figure"),
    ("dropout", "Dropout (kept in English) / 随机失活", "暂退法 (2nd edition) / 丢弃法 (1st edition)",
     "randomly zeroes units during training so that no unit can rely on another"),
    ("data augmentation", "数据增强 / 数据增广", "",
     "training on randomly changed copies of the training examples, of any kind of data"),
    ("image augmentation", "图像增强 / 图像增广", "",
     "data augmentation for images: random crops, flips and colour changes (d2l-zh's chapter on it says 图像增广)"),
    ("principal component analysis (PCA)", "主成分分析 (PCA)", "",
     "finds the directions along which data vary most; AlexNet's colour augmentation shifts pixels along them"),
    ("transfer learning", "迁移学习", "",
     "starting a new task from a network trained on another (often ImageNet), usually by fine-tuning it"),
    # many GPUs
    ("data parallelism", "数据并行", "",
     "every device holds the whole model and trains on its own share of each batch; gradients are then averaged"),
    ("model parallelism", "模型并行", "",
     "the model's layers or kernels are split across devices (AlexNet's two GPUs), which exchange activations"),
    ("all-reduce", "全归约 (all-reduce)", "",
     "a collective that sums (or averages) a tensor across all processes and gives every process the result"),
    # measuring and looking inside
    ("number of parameters", "参数量", "",
     "how many trainable values (weights and biases) a model has"),
    ("multiply-accumulate (MAC)", "乘加运算", "",
     "one multiplication and one addition: the unit of a layer's compute"),
    ("confusion matrix", "混淆矩阵", "",
     "a table that counts, for each true class, how often the model predicted each class"),
    ("top-5 error rate", "top-5 错误率", "",
     "the share of images whose true class is not among the model's five highest scores (the ImageNet challenge's measure)"),
    ("occlusion sensitivity", "遮挡敏感性", "",
     "how much a class's score drops when a patch of the image is covered: where a decision rests"),
]]


def terms_in(column: str) -> list[str]:
    """The terms of one Chinese column's text: split at `` / ``, notes in parentheses dropped.

    >>> terms_in("Dropout (kept in English) / 随机失活")
    ['Dropout', '随机失活']
    >>> terms_in("")
    []
    """
    return [re.sub(r"\s*\([^)]*\)$", "", part).strip() for part in column.split(" / ") if part.strip()]


def glossary_table() -> pd.DataFrame:
    """The glossary as a table: English, 中文, the d2l-zh term where it differs, and a definition.

    >>> table = glossary_table()
    >>> table.loc[table["English"] == "dropout", ["中文", "d2l 中文版"]].values.tolist()
    [['Dropout (kept in English) / 随机失活', '暂退法 (2nd edition) / 丢弃法 (1st edition)']]
    """
    return pd.DataFrame(GLOSSARY, columns=["English", "中文", "d2l 中文版", "definition"])


def _english_names(term: Term) -> set[str]:
    """``term``'s English names, lower case: the whole, the text before a parenthesis and the one inside it."""
    names = {term.english.lower(), term.english.split(" (")[0].lower()}
    if "(" in term.english:
        names.add(term.english.split("(")[1].rstrip(")").lower())
    return names


def chinese_term(english: str) -> str:
    """The usual Chinese term(s) for an English one (case-insensitive; the text before any parenthesis counts too).

    >>> chinese_term("Pooling layer"), chinese_term("ReLU"), chinese_term("stride")
    ('池化层', '修正线性单元', '步幅 / 步长')
    """
    wanted = english.strip().lower()
    for term in GLOSSARY:
        if wanted in _english_names(term):
            return term.chinese
    raise KeyError(f"{english!r} is not in the glossary; the terms are: {', '.join(t.english for t in GLOSSARY)}.")


def english_term(chinese: str) -> str:
    """The English term (without its parenthesis) for a Chinese one from either Chinese column.

    >>> english_term("汇聚层"), english_term("随机失活"), english_term("丢弃法")
    ('pooling layer', 'dropout', 'dropout')
    """
    wanted = chinese.strip()
    for term in GLOSSARY:
        if wanted in terms_in(term.chinese) + terms_in(term.d2l_zh):
            return term.english.split(" (")[0]
    raise KeyError(f"{chinese!r} is not in the glossary's Chinese columns (中文 and d2l 中文版).")
