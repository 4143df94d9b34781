"""The Streamlit page: search by noun with suggestions, results, "what is this?", uploads and maps.

Started by `nounlens ui`; reads the catalogue from $NOUNLENS_CATALOGUE and the folders it may index
from $NOUNLENS_UI_ALLOW_INDEX (ui.roots). It calls `Engine` only, and the engine is loaded once per
process and shared by every browser session. Everything it writes is markdown to Streamlit, so text
that is not the page's own goes through `ui.text.plain`.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from nounlens.data.errors import NounlensError
from nounlens.data.paths import default_catalogue
from nounlens.indexer.writer_lock import CatalogueBusy
from nounlens.search.engine import Engine, Result
from nounlens.search.photos import MAX_UPLOAD_BYTES, check_upload
from nounlens.search.ranking import PAGE_THRESHOLD
from nounlens.ui.charts import noun_map_chart, photo_map_chart
from nounlens.ui.restyle import restyle_panel
from nounlens.ui.roots import OFF, allowed_roots, index_target
from nounlens.ui.text import file_name, plain, printable

VIEWS = ("Search", "Photo", "Upload", "Map", "Nouns")
DEFAULT_THRESHOLD = PAGE_THRESHOLD  # chosen from data by `nounlens eval quality` (docs/quality.md)
GRID_COLUMNS = 5
MAP_HOVER_THUMBS = 1500  # photos whose thumbnail rides along in the map's data for hover (about 3 MB)


# ---- the engine: once per process ---------------------------------------------------------------
@st.cache_resource(show_spinner="loading the models (once per process)")
def get_engine(path: str) -> Engine | None:
    """None where no catalogue exists yet (the page then offers to index a folder)."""
    if not (Path(path) / "manifest.json").exists():
        return None
    try:
        engine = Engine.open(path, writable=True)
    except NounlensError:  # a catalogue on a read-only disk: browse it, index nothing (else the same error)
        engine = Engine.open(path)
    engine.resolve("dog")  # warm the noun table ...
    engine.resolve("a photo of a dog")  # ... and the text encoder, before the first query
    return engine


@st.cache_resource
def index_lock() -> threading.Lock:
    return threading.Lock()


def catalogue_path() -> str:
    return str(default_catalogue().expanduser().absolute())


# ---- small helpers ------------------------------------------------------------------------------
def page_thumbs(engine: Engine, ids: list[int]) -> list[str | None]:
    """A page's thumbnails, super-resolved in one batch where the engine offers it, else the stored
    72-px ones, as data URIs: they ride in the page's own message instead of one HTTP request per
    photo (20 requests cost ~200 ms of a ~300 ms render)."""
    datas: list[bytes | None] = [None] * len(ids)
    batch = getattr(engine, "sr_thumbnails", None)
    if batch is not None:
        try:
            datas = batch(ids)
        except Exception:  # pictures must never fail a results page: fall back to the stored ones
            datas = [None] * len(ids)
    datas = [d or engine.thumbnail(i) for d, i in zip(datas, ids, strict=True)]
    return [data_uri(d) if d else None for d in datas]


def data_uri(data: bytes) -> str:
    mime = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def open_photo(i: int) -> None:
    st.session_state.open_id = int(i)
    st.session_state.view = "Photo"


def result_grid(engine: Engine, results: list[Result], key: str) -> None:
    """Thumbnails with scores; each file name is a button that opens the photo."""
    thumbs = page_thumbs(engine, [r.id for r in results])
    for start in range(0, len(results), GRID_COLUMNS):
        cols = st.columns(GRID_COLUMNS)
        for col, r, data in zip(cols, results[start:start + GRID_COLUMNS], thumbs[start:start + GRID_COLUMNS],
                                strict=False):
            with col:
                if data:
                    st.image(data, caption=f"{r.score:.3f} · {plain(', '.join(n['name'] for n in r.nouns[:2]))}",
                             width="stretch")
                st.button(file_name(r.path), key=f"{key}-{r.id}", help=plain(r.path), on_click=open_photo,
                          args=(r.id,), type="tertiary")


def describe_terms(engine: Engine, resolved) -> str:
    """How the query was read: "**crane** (n02012849: large long-necked wading bird ...) + ..."."""
    wn, parts = engine.wordnet, []
    for r in resolved:
        w = r.term.weight
        sign = "−" if w < 0 else "+" if parts else ""
        weight = f"{abs(w):g}×" if abs(w) != 1 else ""
        what = (f"**{plain(wn.noun(r.row).name)}** ({wn.wnids[r.row]}: {plain(wn.glosses[r.row])})"
                if r.row is not None else f"“{plain(r.term.text)}” (free text)")
        parts.append(f"{sign} {weight}{what}".strip())
    return " ".join(parts)


def noun_lines(nouns: list[dict]) -> str:
    return "\n".join(f"- **{n['name']}** `{n['score']:.3f}` — {n['gloss']} ({n['wnid']})" for n in nouns)


# ---- side panel ---------------------------------------------------------------------------------
def sidebar(engine: Engine | None, path: str) -> None:
    with st.sidebar:
        st.title("nounlens")
        st.caption("Search photos by any of WordNet's 82,115 nouns.")
        if engine is None:
            st.warning(f"No catalogue at {plain(path)} yet.")
        else:
            info = engine.info()
            st.metric("photos", f"{info['photos']:,}")
            models = info.get("models") or {}
            st.markdown("\n".join(
                [f"- catalogue: {plain(info['catalogue'])}", f"- generation {info['generation']}",
                 f"- last indexed: {plain(info.get('last_indexed') or 'never')}"]
                + [f"- {part}: {plain(m.get('name'))}" for part, m in models.items()]))
        index_panel(engine, path)


def index_panel(engine: Engine | None, path: str) -> None:
    """Index a folder: only under the roots `nounlens ui --allow-index` named (ui.roots)."""
    st.subheader("Index a folder")
    roots = allowed_roots()
    if not roots:
        st.caption(OFF)
        return
    st.caption("allowed: " + ", ".join(plain(r) for r in roots))
    if st.session_state.get("indexed"):
        st.success(plain(st.session_state.indexed))
    folder = st.text_input("folder of photos", key="index_folder", placeholder=printable(str(roots[0])))
    if st.button("Index", key="index_go", disabled=engine is not None and engine.catalogue.readonly):
        index_folder(engine, path, folder, roots)


def index_folder(engine: Engine | None, path: str, folder: str, roots: list[Path]) -> None:
    try:
        target = index_target(folder, roots)
    except NounlensError as e:
        st.error(plain(e))
        return
    lock = index_lock()
    if not lock.acquire(blocking=False):
        st.warning("another session is indexing; try again when it is done")
        return
    try:
        bar = st.progress(0.0, text=f"indexing {target}")
        fresh = engine is None
        writer = Engine.open(path, create=True) if fresh else engine  # the shared engine sees new photos itself
        def run(wait: bool):
            return writer.index([target], progress=False, wait=wait,
                                on_progress=lambda done, total: bar.progress(done / total, text=f"{done}/{total}"))

        try:
            try:
                summary = run(wait=False)
            except CatalogueBusy as e:  # another process (the CLI, another page) is indexing: say so, then wait
                st.info(plain(f"{e.busy}; waiting…"))
                summary = run(wait=True)
        finally:
            if fresh:
                writer.catalogue.close()
        st.session_state.indexed = summary.line() + "".join(
            f"; skipped {printable(Path(p).name)} ({why})" for p, why in summary.skipped_files[:5])
    except NounlensError as e:
        st.error(plain(e))
        return
    finally:
        lock.release()
    if fresh:
        get_engine.clear()  # it cached "no catalogue"
    st.rerun()


# ---- views --------------------------------------------------------------------------------------
def pick_suggestion(query: str) -> None:
    st.session_state.q = query
    st.session_state.picked = query


def ranking_switches() -> dict[str, bool]:
    """The CLI's two ranking flags as switches, off by default as there: `Engine.search`'s keywords."""
    no_hierarchy = st.checkbox("`--no-hierarchy`", key="no_hierarchy",
                               help="rank by the plain text-space cosine, without the ImageNet-class and "
                                    "WordNet-subtree scores")
    no_feedback = st.checkbox("`--no-feedback`", key="no_feedback",
                              help="leave out the look-alike photos (no pseudo-relevance feedback)")
    return {"hierarchy": not no_hierarchy, "feedback": not no_feedback}


def search_view(engine: Engine) -> None:
    typed = st.text_input("Search photos", key="q", live=True, bind="query-params",
                          placeholder="a noun (okapi, crane), free text, or arithmetic: engine + boat")
    if typed and typed != st.session_state.get("picked"):
        for j, s in enumerate(engine.suggest(typed, 8)):
            st.button(f"**{s.label}** — {s.gloss[:110]}", key=f"sugg-{j}", on_click=pick_suggestion,
                      args=(s.query,), type="tertiary")
    c1, c2, c3 = st.columns([1, 2, 1])
    k = c1.select_slider("how many", [10, 20, 50, 100], value=20, key="k")
    threshold = c2.slider("hide matches below this score", -1.0, 1.0, DEFAULT_THRESHOLD, 0.01, key="threshold",
                          help="the score under each photo, on the cosine scale of the text space (1 = the query's "
                               "own direction): the ranking's mix of cosine, class evidence and look-alikes")
    with c3:
        ranking = ranking_switches()
    if not typed or not typed.strip():
        st.info("Type a noun to search. Picking a suggestion searches with exactly that sense.")
        return
    if len(engine.catalogue) == 0:
        st.info("The catalogue has no photos yet: index a folder from the side panel.")
        return
    try:
        _, resolved = engine.resolve(typed)  # how the query was read, for the caption
        results = engine.search(typed, k, **ranking)  # the CLI's and the API's ranking
    except NounlensError as e:
        st.error(plain(e))
        return
    st.caption("searching for " + describe_terms(engine, resolved))
    good = [r for r in results if r.score >= threshold]
    st.session_state.highlight = [r.id for r in good]
    if not good:
        best = f"the best photo scores {results[0].score:.3f}, below" if results else "no photo reaches"
        st.warning(f"No good match for “{plain(typed)}”: {best} the threshold {threshold:.2f}. "
                   "Lower the threshold to see weaker matches.")
    else:
        st.caption(f"{len(good)} of {len(results)} photos at or above {threshold:.2f}")
        result_grid(engine, good, "open")


def photo_view(engine: Engine) -> None:
    i = st.session_state.get("open_id")
    rec = engine.record(i) if i is not None else None
    if rec is None:
        st.info("Open a photo from the search results, the map or an upload's similar photos.")
        return
    st.button("← back to the search", key="back", on_click=lambda: st.session_state.update(view="Search"))
    left, right = st.columns([3, 2])
    with left:
        try:
            st.image(engine.photo(rec.id), caption=f"{plain(rec.path)} · {rec.width}×{rec.height}", width="stretch")
        except NounlensError as e:
            st.error(plain(e))
    with right:
        st.subheader("What is this?")
        st.container(key="nouns").markdown(noun_lines(engine.photo_nouns(rec.id, 5)))
    restyle_panel(engine, rec.id)
    st.subheader("Similar photos")
    result_grid(engine, engine.similar_to(rec.id, 10), "similar")


def upload_view(engine: Engine) -> None:
    up = st.file_uploader(f"A photo (up to {MAX_UPLOAD_BYTES // 2**20} MB): its nouns and the catalogue's "
                          "photos like it", key="upload")
    if up is None:
        return
    data = up.getvalue()
    try:
        check_upload(up.name, data)
        nouns = engine.label(data, 5)
        similar = engine.similar(data, 10)
    except NounlensError as e:
        st.error(plain(e))
        return
    except Exception as e:  # whatever a hostile file does, the page says so in one line
        st.error(plain(f"cannot use {up.name}: {type(e).__name__}: {e}"))
        return
    left, right = st.columns([1, 2])
    with left:
        st.image(data, caption=plain(up.name), width="stretch")
    with right:
        st.subheader("What is this?")
        st.container(key="upload-nouns").markdown(noun_lines(nouns))
    st.subheader("Similar photos in the catalogue")
    result_grid(engine, similar, "upsim")


@st.cache_data(show_spinner=False, max_entries=4)
def map_frame(path: str, generation: int) -> pd.DataFrame:
    engine = get_engine(path)
    m = engine.photo_map()
    records = engine.catalogue.records(m.ids)
    frame = pd.DataFrame({"id": m.ids, "x": m.xy[:, 0], "y": m.xy[:, 1],
                          "noun": [engine.wordnet.noun(int(r)).name for r in m.top],
                          "branch": [engine.wordnet.branch(int(r)) for r in m.top],
                          "file": [printable(Path(r.path).name) if r else "" for r in records]})
    step = max(1, len(frame) // MAP_HOVER_THUMBS)
    images = [""] * len(frame)
    for j in range(0, len(frame), step):
        data = engine.thumbnail(int(m.ids[j]))
        images[j] = data_uri(data) if data else ""
    frame["image"] = images
    return frame


def map_view(engine: Engine, path: str) -> None:
    n = len(engine.catalogue)
    if n == 0:
        st.info("The catalogue has no photos yet.")
        return
    with st.spinner(f"placing {n:,} photos in 2-D (UMAP; once per catalogue generation, then cached)"):
        frame = map_frame(path, engine.catalogue.generation())
    ids = set(st.session_state.get("highlight") or [])
    q = st.session_state.get("q")
    st.caption(f"{len(frame):,} photos, coloured by their top noun's WordNet branch; hover for a thumbnail"
               + (f"; ringed: the results for “{plain(q)}”" if ids and q else "") + ". Click a photo to open it.")
    event = st.altair_chart(photo_map_chart(frame, frame[frame["id"].isin(ids)]), key="map", on_select="rerun",
                            selection_mode="photo", width="stretch")
    picked = (event.selection.get("photo") or []) if event else []
    if picked:
        i = int(picked[0]["id"])
        rec = engine.record(i)
        if rec:
            st.button(f"open {file_name(rec.path)}", key="map-open", on_click=open_photo, args=(i,))


def nouns_view(engine: Engine) -> None:
    word = st.text_input("A noun and its neighbours", value="dog", key="noun_word")
    if not word.strip():
        return
    try:
        nouns = engine.noun_map(word, 20)
    except NounlensError as e:
        st.error(plain(e))
        return
    st.caption("The noun, its WordNet neighbours within two hops and its nearest nouns in the text space, "
               "placed by PCA of their vectors.")
    st.altair_chart(noun_map_chart(pd.DataFrame(nouns)), width="stretch")


# ---- the page -----------------------------------------------------------------------------------
def main() -> None:
    st.set_page_config(page_title="nounlens", layout="wide")
    st.set_option("client.showErrorDetails", "none")  # one line in the browser, the traceback in the server log
    path = catalogue_path()
    try:
        engine = get_engine(path)
    except NounlensError as e:
        st.error(plain(e))
        return
    sidebar(engine, path)
    if engine is None:
        st.info(f"No catalogue at {plain(path)}: index a folder of photos from the side panel (with "
                "`nounlens ui --allow-index DIR`), or run `nounlens demo` and start `nounlens ui` again.")
        return
    view = st.radio("view", VIEWS, key="view", horizontal=True, label_visibility="collapsed")
    {"Search": search_view, "Photo": photo_view, "Upload": upload_view,
     "Map": lambda e: map_view(e, path), "Nouns": nouns_view}[view](engine)


if __name__ == "__main__":
    main()
