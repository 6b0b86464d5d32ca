"""wt_core.raster: the one place pixels are read, a photo whole and a raster window by window."""

from __future__ import annotations

import numpy as np
import pytest
from wt_core.errors import BadInput
from wt_core.geometry import tile_grid
from wt_core.raster import RasterSource, open_image, read_padded, read_windows


def _write(path, data: np.ndarray, **kw) -> None:
    import rasterio
    from rasterio.transform import from_origin

    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
               "dtype": data.dtype.name, "crs": "EPSG:32736", "transform": from_origin(500000, 9000000, 0.05, 0.05),
               **kw}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def test_windows_of_a_raster_equal_the_same_cut_of_the_whole(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (3, 700, 900), dtype=np.uint8)
    _write(tmp_path / "r.tif", rgb, tiled=True, blockxsize=256, blockysize=256)
    whole_bgr = np.moveaxis(rgb, 0, -1)[:, :, ::-1]
    wins = tile_grid(900, 700, 256, 256, 0.2)
    with open_image(tmp_path / "r.tif") as src:
        assert isinstance(src, RasterSource) and (src.width, src.height) == (900, 700)
        got = list(read_windows(src, wins, max_pixels=300_000))  # forces several reads per row band
        assert src.georef() == {"crs": "EPSG:32736", "transform": [0.05, 0.0, 500000.0, 0.0, -0.05, 9000000.0]}
    assert [w for w, _ in got] == wins
    for (x0, y0, x1, y1), crop in got:
        np.testing.assert_array_equal(crop, whole_bgr[y0:y1, x0:x1])


def test_sixteen_bit_is_stretched_from_the_2nd_to_the_98th_percentile(tmp_path):
    ramp = np.tile(np.linspace(1000, 5000, 1000, dtype=np.float64), (100, 1)).astype(np.uint16)
    _write(tmp_path / "r16.tif", np.stack([ramp] * 3), tiled=False, blockysize=8)
    with open_image(tmp_path / "r16.tif") as src:
        img = src.read((0, 0, 1000, 100))
        lo, hi = src.ranges[0]
    assert img.dtype == np.uint8 and img.shape == (100, 1000, 3)
    np.testing.assert_allclose([lo, hi], np.percentile(ramp, [2, 98]), rtol=0.01)
    grey = img[0, :, 0].astype(int)
    assert grey[:15].max() == 0 and grey[-15:].min() == 255  # below p2 black, above p98 white
    assert 120 <= grey[500] <= 135 and (np.diff(grey) >= 0).all()  # the middle in the middle, monotone


def test_band_rule_grey_palette_and_rgba(tmp_path):
    grey = np.full((1, 40, 50), 77, np.uint8)
    _write(tmp_path / "grey.tif", grey)
    rgba = np.stack([np.full((40, 50), v, np.uint8) for v in (10, 20, 30, 255)])
    _write(tmp_path / "rgba.tif", rgba, photometric="RGB", extra_samples=None)
    with open_image(tmp_path / "grey.tif") as src:
        assert (src.read((0, 0, 50, 40)) == 77).all()
    with open_image(tmp_path / "rgba.tif") as src:
        assert src.read((0, 0, 50, 40))[5, 5].tolist() == [30, 20, 10]  # BGR of bands 1-3, alpha ignored


def test_nodata_becomes_black_and_padding_outside(tmp_path):
    data = np.full((3, 30, 30), 200, np.uint8)
    data[:, :10, :10] = 0
    _write(tmp_path / "nd.tif", data, nodata=0)
    with open_image(tmp_path / "nd.tif") as src:
        crop = read_padded(src, (-5, -5, 15, 15))
    assert crop.shape == (20, 20, 3)
    assert (crop[:5] == 0).all() and (crop[17, 17] == 200).all() and (crop[7, 7] == 0).all()


def test_large_photo_beyond_pil_limit_is_read(tmp_path):
    from PIL import Image

    # 14000 x 13000 = 182 MP: PIL refuses it (DecompressionBombError above 2 x 89.5 MP) unless told otherwise
    Image.new("L", (14000, 13000), 90).save(tmp_path / "big.png")
    Image.MAX_IMAGE_PIXELS = 89_478_485
    with open_image(tmp_path / "big.png") as src:
        assert (src.width, src.height) == (14000, 13000)
        assert src.read((100, 100, 110, 120)).shape == (20, 10, 3)


def test_missing_and_broken_files_are_bad_input(tmp_path):
    with pytest.raises(BadInput, match="not found"):
        open_image(tmp_path / "nope.tif")
    (tmp_path / "broken.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(BadInput, match="cannot read this raster"):
        open_image(tmp_path / "broken.tif")
