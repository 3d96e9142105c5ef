"""The model that ships in models/shipped loads from its card and repairs an example mask."""
from pathlib import Path


from rootrepair import io as rio
from rootrepair.inpaint import InpaintSettings, repair_mask
from rootrepair.metrics import components
from rootrepair.models.checkpoint import DEFAULT_MODEL, load_generator, shipped_models

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_default_model_is_shipped_with_a_card():
    ids = [m["id"] for m in shipped_models()]
    assert DEFAULT_MODEL in ids
    model, card = load_generator()  # verifies the sha256 of the weights
    from rootrepair.train import VARIANTS

    assert card["variant"] in VARIANTS and card["arch"] == "unet" and card["base"] == 32 and card["dtype"] == "int8"
    assert (Path(card["path"]).with_suffix(".md")).is_file()


def test_default_model_joins_pieces_of_an_example_root():
    mask, _ = rio.read_mask(EXAMPLES / "season" / "plant_01.png")
    crop = mask[200:712, 200:712]
    model, _ = load_generator()
    repaired = repair_mask(model, crop, InpaintSettings(threads=1))
    assert (repaired >= crop).all()  # add mode keeps every input pixel
    assert components(repaired) < components(crop)


def test_models_command_names_every_model_whole_and_marks_the_default():
    from typer.testing import CliRunner

    from rootrepair.cli import app

    r = CliRunner().invoke(app, ["models"], terminal_width=80)
    assert r.exit_code == 0, r.output
    rows = [line for line in r.output.splitlines() if "rootrepair-" in line and "│" in line]
    ids = sorted(m["id"] for m in shipped_models())
    assert sorted(line.split("│")[1].strip() for line in rows) == ids  # whole names, one row each
    assert [line.split("│")[1].strip() for line in rows if "yes" in line] == [DEFAULT_MODEL]


def test_fast_model_is_half_as_wide_and_joins_pieces_too():
    model, card = load_generator("rootrepair-unet-fast")  # verifies the sha256 of the weights
    assert card["arch"] == "unet" and card["base"] == 8 and card["teacher"] == "rootrepair-unet-base32"  # the default when it was distilled
    assert sum(p.numel() for p in model.parameters()) * 3 < sum(p.numel() for p in load_generator("rootrepair-unet-gpu-compact")[0].parameters())
    mask, _ = rio.read_mask(EXAMPLES / "season" / "plant_01.png")
    crop = mask[200:712, 200:712]
    repaired = repair_mask(model, crop, InpaintSettings(threads=1))
    assert (repaired >= crop).all()
    assert components(repaired) < components(crop)
