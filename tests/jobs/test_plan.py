"""Planning: which steps a script and its options make, and what their content keys depend on."""

from __future__ import annotations

from billing.pricing import quote_production, quote_talking_head
from core.production import ProductionOptions, VoiceEngine
from core.script import parse_script
from jobs.plan import generation_size, plan_job
from media.spec import host_box

SCRIPT = parse_script(
    "[TALKING] Hello there, welcome back.\n[BROLL: a quiet harbour at dawn | 3s]\n[TALKING] Bye."
)


def steps(options: ProductionOptions) -> dict[str, object]:
    return {s.name: s for s in plan_job(SCRIPT, options, portrait_key="p" * 64)}


def test_background_is_one_picture_behind_every_talking_segment() -> None:
    plain = steps(ProductionOptions())
    backed = steps(ProductionOptions(background=True, background_prompt="a neon city at night"))
    assert "background" not in plain
    background = backed["background"]
    assert background.kind == "keyframe"
    assert background.params["prompt"] == "a neon city at night"
    render = backed["render"]
    assert "background" in render.deps
    talking = [seg for seg in render.params["segments"] if seg["kind"] == "talking"]
    broll = [seg for seg in render.params["segments"] if seg["kind"] == "broll"]
    assert [seg["background"] for seg in talking] == ["background", "background"]
    assert all("background" not in seg for seg in broll)
    # The host is made in the frame it fills over the backdrop, not the whole canvas.
    _, _, w, h = host_box(*ProductionOptions().size)
    lipsync = backed["lipsync/0"].params
    assert (lipsync["width"], lipsync["height"]) == generation_size(w, h)
    assert (plain["lipsync/0"].params["width"], plain["lipsync/0"].params["height"]) == (720, 1280)
    # The b-roll is untouched by the background; the host is not.
    assert backed["clip/1"].content_key == plain["clip/1"].content_key
    assert backed["lipsync/0"].content_key != plain["lipsync/0"].content_key
    other = steps(ProductionOptions(background=True, background_prompt="a library"))
    assert other["background"].content_key != background.content_key
    assert other["lipsync/0"].content_key == backed["lipsync/0"].content_key


def test_a_background_needs_someone_to_stand_in_front_of_it() -> None:
    broll_only = parse_script("[BROLL: waves | 3s]")
    planned = plan_job(broll_only, ProductionOptions(background=True), portrait_key="p")
    assert "background" not in {s.name for s in planned}
    quote = quote_production(broll_only, ProductionOptions(background=True))
    assert [i.label for i in quote.items] == ["1. b-roll, 3.0s", "music bed"]


def test_voice_engine_reaches_tts_and_its_key() -> None:
    auto = steps(ProductionOptions())
    fish = steps(ProductionOptions(voice_engine=VoiceEngine.fish_speech))
    assert auto["tts/0"].params["engine"] == "auto"
    assert fish["tts/0"].params["engine"] == "fish-speech"
    assert fish["tts/0"].content_key != auto["tts/0"].content_key
    # Another voice means new speech, and so new lip-sync, captions and render.
    assert fish["lipsync/0"].content_key != auto["lipsync/0"].content_key
    assert fish["keyframe/1"].content_key == auto["keyframe/1"].content_key


def test_the_background_is_priced() -> None:
    plain = quote_production(SCRIPT, ProductionOptions())
    backed = quote_production(SCRIPT, ProductionOptions(background=True))
    assert [i.label for i in backed.items if i not in plain.items] == ["generated background"]
    head = parse_script("[TALKING] " + "word " * 60)
    without = quote_talking_head(head, ProductionOptions())
    with_bg = quote_talking_head(head, ProductionOptions(background=True))
    assert with_bg.credits == without.credits + 1
    assert sum(i.credits for i in with_bg.items) == with_bg.credits


def test_transitions_are_chosen_per_cut() -> None:
    script = parse_script(
        "[TALKING] Hi.\n[BROLL: a harbour | 3s]\n[BROLL: a boat | 3s]\n"
        "[TALKING] Bye.\n[TALKING] Ok."
    )

    def chosen(options: ProductionOptions) -> list[str]:
        render = next(s for s in plan_job(script, options, portrait_key="p") if s.name == "render")
        return [seg["transition"] for seg in render.params["segments"]]

    assert chosen(ProductionOptions()) == ["cut", "cut", "crossfade", "cut", "cut"]
    assert chosen(ProductionOptions(transitions="wipe")) == ["cut", *["wipe"] * 4]
    # Transitions change the picture, not the words: the captions step is the same.
    keys = {
        t: {s.name: s.content_key for s in plan_job(script, ProductionOptions(transitions=t),
                                                    portrait_key="p")}
        for t in ("auto", "slide")
    }  # fmt: skip
    assert keys["auto"]["captions"] == keys["slide"]["captions"]
    assert keys["auto"]["render"] != keys["slide"]["render"]


def test_the_caption_look_reaches_the_render_and_matches_what_media_draws() -> None:
    import dataclasses

    import pytest
    from pydantic import ValidationError

    from core.production import CaptionLook
    from media.caption_fonts import LATIN_FONTS
    from media.captions import CaptionSettings

    look = CaptionLook(style="classic", position="top", text_colour="#00FF88", uppercase=True)
    render = steps(ProductionOptions(caption_look=look))["render"]
    settings = CaptionSettings(**render.params["caption_look"])  # type: ignore[attr-defined]
    assert (settings.style, settings.position, settings.text_colour) == (
        "classic",
        "top",
        "#00FF88",
    )
    plain = steps(ProductionOptions())["render"]
    assert plain.content_key != render.content_key, "a new look is a new render"  # type: ignore[attr-defined]
    # The API's model and media's settings describe the same things, with the same fonts.
    assert set(CaptionLook.model_fields) == {f.name for f in dataclasses.fields(CaptionSettings)}
    font_choices = CaptionLook.model_json_schema()["properties"]["font"]["enum"]
    assert set(font_choices) == set(LATIN_FONTS)
    with pytest.raises(ValidationError, match="text_colour"):
        ProductionOptions.model_validate({"caption_look": {"text_colour": "yellow"}})
