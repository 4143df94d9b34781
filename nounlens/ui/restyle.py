"""The "Restyle" panel under an opened photo: the shipped one-pass stylizer (van Gogh's Irises, a
fraction of a second), or pixel optimisation with a painting the user uploads (about a minute)."""

from __future__ import annotations

import streamlit as st

from nounlens.data.errors import NounlensError
from nounlens.search.engine import Engine
from nounlens.search.photos import check_upload
from nounlens.ui.text import plain

STYLIZER = "van Gogh's Irises (one pass)"
OPTIMISE = "a painting of your own (optimisation, about a minute)"
UI_SIZE = 384


def restyle_panel(engine: Engine, photo_id: int) -> None:
    with st.expander("Restyle this photo", expanded=st.session_state.get("restyled") is not None):
        how = st.radio("style", (STYLIZER, OPTIMISE), key="restyle_how", horizontal=True)
        colour = st.checkbox("keep the photo's colours", key="restyle_colour")
        painting = None
        if how == OPTIMISE:
            up = st.file_uploader("the painting", key="restyle_painting")
            steps = st.select_slider("optimisation steps", [30, 60, 100, 150], value=100, key="restyle_steps")
            painting = up.getvalue() if up is not None else None
        if st.button("Restyle", key="restyle_go", disabled=how == OPTIMISE and painting is None):
            try:
                if how == OPTIMISE:
                    from nounlens.search.restyle.optimise import GatysConfig

                    check_upload("the painting", painting)
                    cfg = GatysConfig(size=UI_SIZE, steps=steps, colour="luminance" if colour else "none")
                    with st.spinner(f"optimising {steps} steps at {UI_SIZE} px"):
                        result = engine.stylize(photo_id, style=painting, cfg=cfg)
                else:
                    result = engine.stylize(photo_id, colour="luminance" if colour else "none")
                st.session_state.restyled = (photo_id, result.encode("JPEG"),
                                             f"{result.method} · {result.seconds:.2f} s")
            except NounlensError as e:
                st.error(plain(e))
        done = st.session_state.get("restyled")
        if done and done[0] == photo_id:
            st.image(done[1], caption=done[2], width="stretch")
