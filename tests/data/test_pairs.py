"""Super-resolution training pairs (data/pairs.py) are made by the indexer's own thumbnail code."""

from __future__ import annotations

import numpy as np
import pytest
from sr_support import real_photos

from nounlens.data.images import decode
from nounlens.search.upscale import thumb_pixels


@pytest.mark.shared
def test_pairs_use_the_indexers_thumbnail():
    from nounlens.data.pairs import make_pair

    path = real_photos()[0]
    pair = make_pair(path)
    assert np.array_equal(pair.lr, thumb_pixels(decode(str(path)).thumb))
    assert pair.hr.shape == (pair.lr.shape[0] * 4, pair.lr.shape[1] * 4, 3)
