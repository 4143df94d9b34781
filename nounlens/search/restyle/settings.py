"""The restyling choices in one place, without importing torch (the CLI builds its help from them).
How they were chosen is in docs/style.md."""

# the pixels' Gram (colour statistics), then EfficientNet-Lite0's inner activations at strides 2, 4, 8, 16, 16
STYLE_TAPS = ("px", "a0", "a2", "a4", "a7", "a10")
STYLE_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
CONTENT_TAP = "b2"  # block 2's output, stride 4
SOFTMAX = None  # Wang et al.'s temperature; None: off
STYLE_WEIGHT = 10.0
STYLIZER_STYLE_WEIGHT = 7.5  # the shipped stylizer's; 5 painted too little, a first try at 10 over the content
CONTENT_WEIGHT = 1.0
TV_WEIGHT = 1.0
SIZE = 384
STEPS = 150
INIT = "blur"

INITS = ("blur", "content", "noise")
MASKS = ("left", "right", "top", "bottom", "centre")
COLOUR_MODES = ("none", "luminance", "histogram")
