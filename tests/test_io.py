import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from rootrepair import io as rio
from rootrepair.errors import MaskReadError


def _roots(shape=(20, 30)):
    m = np.zeros(shape, bool)
    m[5, 2:25] = True
    m[5:15, 10] = True
    return m


def test_png_white_on_black_roundtrip(tmp_path):
    m = _roots()
    Image.fromarray((m * 255).astype(np.uint8)).save(tmp_path / "a.png")
    got, info = rio.read_mask(tmp_path / "a.png")
    assert np.array_equal(got, m)
    assert info.foreground == "white" and not info.guessed
    rio.write_mask(tmp_path / "b.png", got, info)
    again, _ = rio.read_mask(tmp_path / "b.png")
    assert np.array_equal(again, m)


def test_black_roots_on_white_are_detected_with_a_warning(tmp_path):
    m = _roots()
    Image.fromarray(np.where(m, 0, 255).astype(np.uint8)).save(tmp_path / "a.png")
    with pytest.warns(rio.PolarityWarning, match="black"):
        got, info = rio.read_mask(tmp_path / "a.png")
    assert np.array_equal(got, m)
    assert info.foreground == "black"
    # written back in the same polarity
    rio.write_mask(tmp_path / "b.png", got, info)
    assert np.asarray(Image.open(tmp_path / "b.png"))[0, 0] == 255


def test_masks_are_stored_in_their_own_bit_depth_values_and_polarity():
    m = np.array([[True, False], [False, True]])
    info = rio.MaskInfo(path="x", shape=(2, 2), dtype="uint8", channels=1, foreground="white", guessed=False, white_value=255)
    px = rio.mask_to_pixels(m, info)
    assert px.dtype == np.uint8 and px.tolist() == [[255, 0], [0, 255]]
    px = rio.mask_to_pixels(m, dataclasses.replace(info, white_value=1))  # a 0/1 mask stays 0/1
    assert px.tolist() == [[1, 0], [0, 1]]
    px = rio.mask_to_pixels(m, dataclasses.replace(info, dtype="uint16", white_value=65535, foreground="black"))
    assert px.dtype == np.uint16 and px.tolist() == [[0, 65535], [65535, 0]]  # black roots on white
    px = rio.mask_to_pixels(m, dataclasses.replace(info, dtype="float32", white_value=0))  # float in: 8-bit out
    assert px.dtype == np.uint8 and px.tolist() == [[255, 0], [0, 255]]
    assert rio.mask_to_pixels(m).tolist() == [[255, 0], [0, 255]]


def test_explicit_foreground_overrides_auto(tmp_path):
    m = _roots()
    Image.fromarray((m * 255).astype(np.uint8)).save(tmp_path / "a.png")
    got, _ = rio.read_mask(tmp_path / "a.png", foreground="black")
    assert np.array_equal(got, ~m)


def test_16bit_tiff_with_small_values_and_rgb_and_palette(tmp_path):
    m = _roots()
    tifffile.imwrite(tmp_path / "a.tif", (m * 1).astype(np.uint16))  # 0/1 labels in 16 bit
    got, info = rio.read_mask(tmp_path / "a.tif")
    assert np.array_equal(got, m) and info.dtype == "uint16"
    rgb = np.zeros(m.shape + (3,), np.uint8)
    rgb[m] = (255, 255, 255)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    assert np.array_equal(rio.read_mask(tmp_path / "c.png")[0], m)
    Image.fromarray((m * 255).astype(np.uint8)).convert("P").save(tmp_path / "d.png")
    assert np.array_equal(rio.read_mask(tmp_path / "d.png")[0], m)


def test_jpeg_artefacts_are_thresholded_at_half_range(tmp_path):
    m = np.zeros((40, 40), bool)
    m[10:30, 18:22] = True
    Image.fromarray((m * 255).astype(np.uint8)).save(tmp_path / "a.jpg", quality=70)
    got, _ = rio.read_mask(tmp_path / "a.jpg")
    assert (got != m).mean() < 0.02


def test_gif_and_webp_masks_are_read_and_written_back_as_png(tmp_path):
    m = np.zeros((40, 40), bool)
    m[10:30, 18:22] = True
    Image.fromarray((m * 255).astype(np.uint8)).save(tmp_path / "a.gif")
    Image.fromarray((m * 255).astype(np.uint8)).save(tmp_path / "b.webp", lossless=True)
    assert np.array_equal(rio.read_mask(tmp_path / "a.gif")[0], m)
    assert np.array_equal(rio.read_mask(tmp_path / "b.webp")[0], m)
    assert rio.output_suffix(Path("a.gif")) == ".png" and rio.output_suffix(Path("b.WEBP")) == ".png"
    assert rio.output_suffix(Path("c.tif")) == ".tif"
    frames = [Image.fromarray((m * 255).astype(np.uint8)), Image.fromarray((~m * 255).astype(np.uint8))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(rio.MaskReadError, match="multi-frame"):
        rio.read_mask(tmp_path / "anim.gif")


def test_a_one_slice_stack_and_planar_rgb_are_read_as_the_mask(tmp_path):
    m = np.zeros((40, 50), bool)
    m[10:30, 18:22] = True
    grey = (m * 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "stack1.tif", grey[None])  # (1, H, W)
    tifffile.imwrite(tmp_path / "planar.tif", np.stack([grey] * 3), planarconfig="separate", photometric="rgb")  # (3, H, W)
    for name in ("stack1.tif", "planar.tif"):
        got, info = rio.read_mask(tmp_path / name)
        assert got.shape == m.shape and np.array_equal(got, m), name
    tifffile.imwrite(tmp_path / "cube.tif", np.zeros((2, 3, 40, 50), np.uint8), photometric="minisblack")  # a stack: refused
    with pytest.raises(MaskReadError):
        rio.read_mask(tmp_path / "cube.tif")


@pytest.mark.parametrize("compression", ["tiff_lzw", "group4", "jpeg"])
def test_tiffs_compressed_as_gimp_photoshop_and_scanners_write_them_are_read(tmp_path, compression):
    m = np.zeros((40, 50), bool)
    m[10:30, 18:26] = True
    im = Image.fromarray((m * 255).astype(np.uint8))
    (im.convert("1") if compression == "group4" else im).save(tmp_path / "a.tif", compression=compression)
    got, _ = rio.read_mask(tmp_path / "a.tif")
    assert (got != m).mean() < (0.02 if compression == "jpeg" else 1e-9)


def test_a_mask_under_another_formats_suffix_is_read_by_its_content(tmp_path):
    m = np.zeros((40, 50), bool)
    m[10:30, 18:26] = True
    Image.fromarray((m * 255).astype(np.uint8)).save(tmp_path / "a.tif", format="PNG")  # a PNG named .tif
    tifffile.imwrite(tmp_path / "b.png", (m * 255).astype(np.uint8))  # a TIFF named .png
    for name in ("a.tif", "b.png"):
        got, _ = rio.read_mask(tmp_path / name)
        assert np.array_equal(got, m), name


def test_binarise_rule():
    assert rio.binarise(np.array([[0, 1]], np.uint16)).tolist() == [[False, True]]
    assert rio.binarise(np.array([[0, 200, 255]], np.uint8)).tolist() == [[False, True, True]]
    assert rio.binarise(np.array([[10, 10]], np.uint8)).tolist() == [[False, False]]


def test_nan_is_background_and_infinities_rank_beyond_the_numbers():
    nan, inf = float("nan"), float("inf")
    assert rio.binarise(np.array([[nan, 1.0, nan]], np.float32)).tolist() == [[False, True, False]]
    assert rio.binarise(np.array([[0.0, inf, 0.2]])).tolist() == [[False, True, False]]
    assert rio.binarise(np.array([[-inf, 3.0, 5.0]])).tolist() == [[False, False, True]]
    assert rio.binarise(np.array([[nan, nan]])).tolist() == [[False, False]]
    assert rio.binarise(np.array([[nan, inf]])).tolist() == [[False, True]]


def test_mask_in_the_alpha_channel_of_one_colour_is_read(tmp_path):
    m = _roots()
    rgba = np.zeros(m.shape + (4,), np.uint8)
    rgba[..., 3] = m * 255  # black everywhere, opaque where the roots are
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert np.array_equal(rio.read_mask(tmp_path / "a.png")[0], m)
    rgba[..., :3] = 255  # white roots on black, fully opaque: the colour decides as before
    rgba[..., 3] = 255
    rgba[~m, :3] = 0
    Image.fromarray(rgba).save(tmp_path / "b.png")
    assert np.array_equal(rio.read_mask(tmp_path / "b.png")[0], m)
    rgba[...] = (255, 0, 0, 0)  # red strokes, transparent elsewhere (a paint program's layer)
    rgba[m, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "c.png")
    assert np.array_equal(rio.read_mask(tmp_path / "c.png")[0], m)
    la = np.stack([np.zeros(m.shape, np.uint8), (m * 255).astype(np.uint8)], axis=-1)  # grey + alpha, the mask in alpha
    Image.fromarray(la, "LA").save(tmp_path / "d.png")
    assert np.array_equal(rio.read_mask(tmp_path / "d.png")[0], m)
    la[..., 0], la[..., 1] = (m * 255).astype(np.uint8), 255  # grey + opaque alpha: the grey decides
    Image.fromarray(la, "LA").save(tmp_path / "e.png")
    assert np.array_equal(rio.read_mask(tmp_path / "e.png")[0], m)


def test_complex_pixels_are_refused_in_one_line(tmp_path):
    tifffile.imwrite(tmp_path / "c.tif", np.zeros((8, 8), np.complex64))
    with pytest.raises(MaskReadError, match="c.tif.*complex"):
        rio.read_mask(tmp_path / "c.tif")


def test_multipage_tiff_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "s.tif", np.zeros((3, 8, 8), np.uint8), photometric="minisblack")
    with pytest.raises(MaskReadError, match="multi-page"):
        rio.read_mask(tmp_path / "s.tif")


def test_bad_files_name_the_file(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(MaskReadError, match="bad.png"):
        rio.read_mask(tmp_path / "bad.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(MaskReadError, match="empty"):
        rio.read_mask(tmp_path / "empty.png")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_or_folder_with_an_image_name_is_refused_without_reading(tmp_path):
    # reading a pipe nobody writes to would block the batch forever
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(MaskReadError, match="pipe.png: not a regular file"):
        rio.read_mask(tmp_path / "pipe.png")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(MaskReadError, match="folder.png: a folder"):
        rio.read_mask(tmp_path / "folder.png")
    with pytest.raises(MaskReadError, match="gone.png: no such file"):
        rio.read_mask(tmp_path / "gone.png")


def test_list_images_walks_recursively_and_skips_non_images(tmp_path):
    (tmp_path / "sub").mkdir()
    for p in ("a.png", "sub/b.TIF", "notes.txt", ".hidden.png"):
        (tmp_path / p).write_bytes(b"x")
    images, skipped = rio.list_images(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in images] == ["a.png", "sub/b.TIF"]
    assert [p.name for p in skipped] == ["notes.txt"]
    assert rio.image_key(images[1], tmp_path) == "sub/b"


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    def boom(tmp):
        tmp.write_text("half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        rio.atomic_write(tmp_path / "x.txt", boom)
    assert list(tmp_path.iterdir()) == []


def test_one_bit_png_reads_as_a_plain_mask(tmp_path):
    from PIL import Image

    from rootrepair.traits import measure_traits

    a = np.zeros((30, 40), np.uint8)
    a[10:13, 5:35] = 255
    Image.fromarray(a).convert("1").save(tmp_path / "bits.png")
    mask, _ = rio.read_mask(tmp_path / "bits.png")
    assert mask.dtype == bool and mask.flags.c_contiguous and (mask == (a > 0)).all()
    assert measure_traits(mask)["tip_count"] == 2


def test_records_csv_is_formula_safe_and_keeps_every_column(tmp_path):
    import csv

    from rootrepair.io import write_records_csv

    rows = [{"file": "=HYPERLINK(\"x\").png", "seconds": 0.123456789, "n": 3},
            {"file": "b.png", "note": "late column", "seconds": None}]
    path = write_records_csv(tmp_path / "m.csv", rows)
    got = list(csv.reader(open(path, newline="")))
    assert got[0] == ["file", "seconds", "n", "note"]
    assert got[1] == ["'=HYPERLINK(\"x\").png", "0.123457", "3", ""]
    assert got[2] == ["b.png", "", "", "late column"]


def test_written_files_get_the_usual_permissions_even_from_writers_that_recreate_them(tmp_path):
    import os
    import stat

    from rootrepair.io import atomic_write

    umask = os.umask(0o022)
    os.umask(umask)

    def recreate(tmp):  # like safetensors: unlink and write a new file (mode 0600)
        tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)

    path = atomic_write(tmp_path / "w.safetensors", recreate)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_a_label_image_counts_every_labelled_pixel_as_root(tmp_path):
    m = _roots((40, 40))
    labels = np.zeros((40, 40), np.uint8)
    labels[m] = 1  # class 1: roots
    labels[30:34, 30:34] = 2  # class 2: something else drawn by the annotator
    Image.fromarray(labels).save(tmp_path / "classes.png")
    with pytest.warns(rio.LabelImageWarning, match="2 values from 1 to 2"):
        got, _ = rio.read_mask(tmp_path / "classes.png")
    # halfway (at 1) would keep only the 16 px of class 2; the roots are 23 + 9 = 32 px
    assert got.sum() == 32 + 16 and got[m].all()
    # one number per root, as skimage.measure.label writes them, in 16 bits: labels 1..300
    inst = np.zeros((40, 400), np.uint16)
    for k in range(300):
        inst[5 + (k % 3) * 10, k + 50] = k + 1
    tifffile.imwrite(tmp_path / "instances.tif", inst)
    with pytest.warns(rio.LabelImageWarning, match="300 values"):
        got, _ = rio.read_mask(tmp_path / "instances.tif")
    assert got.sum() == 300


def test_masks_that_span_their_range_are_not_taken_for_labels(tmp_path, recwarn):
    m = _roots((40, 40))
    grey = (m * 255).astype(np.uint8)
    grey[m] = 250  # a soft mask: values near the top and a few in between
    grey[0, 0], grey[0, 1] = 3, 128
    Image.fromarray(grey).save(tmp_path / "soft.png")
    got, _ = rio.read_mask(tmp_path / "soft.png")
    assert got.sum() == m.sum() + 1 and got[0, 1] and not got[0, 0]  # halfway between 0 and 250: 128 is root, 3 is not
    Image.fromarray(m.astype(np.uint8)).save(tmp_path / "binary01.png")
    assert np.array_equal(rio.read_mask(tmp_path / "binary01.png")[0], m)
    assert not [w for w in recwarn if issubclass(w.category, rio.LabelImageWarning)]


def test_a_photograph_is_read_with_a_warning_a_soft_edged_mask_without(tmp_path):
    ramp = np.tile(np.arange(256, dtype=np.uint8), (40, 1))  # half of it in the middle half of the range
    Image.fromarray(ramp).save(tmp_path / "photo.png")
    with pytest.warns(rio.NotAMaskWarning, match="photo.png: not a binary mask \\(50% of it is mid-grey\\)"):
        m, _ = rio.read_mask(tmp_path / "photo.png", foreground="white")
    assert m.sum() == 40 * 128  # still read, by thresholding halfway
    soft = (_roots((40, 60)) * 255).astype(np.uint8)
    soft[4:7, 1:3] = 128  # a few antialiased edge pixels
    Image.fromarray(soft).save(tmp_path / "mask.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error", rio.NotAMaskWarning)
        rio.read_mask(tmp_path / "mask.png")
