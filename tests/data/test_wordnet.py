import numpy as np
import pytest

from nounlens.data.columns import load_columns
from nounlens.data.wordnet import N_NOUNS, imagenet_rows, imagenet_wnids, lemma_key, load_wordnet, table_dir


def test_all_noun_synsets_with_wnids_and_glosses():
    wn = load_wordnet()
    assert len(wn) == N_NOUNS == 82115
    okapi = wn.noun(wn.lookup("okapi")[0])
    assert okapi.wnid == "n02439398" and "giraffe" in okapi.gloss
    assert all(w.startswith("n") and len(w) == 9 for w in wn.wnids[:100])
    assert wn.depth[wn.row_of["n00001740"]] == 0  # entity is the root
    assert wn.depth[wn.lookup("dog")[0]] > 5


def test_lookup_lemmas_plurals_and_senses():
    wn = load_wordnet()
    assert wn.lookup("golden retriever") == wn.lookup("golden_retriever") != []
    assert wn.lookup("Windsor chair") == [wn.row_of["n04590933"]]
    assert wn.noun(wn.lookup("mice")[0]).wnid == wn.noun(wn.lookup("mouse")[0]).wnid
    assert wn.lookup("qwertyzzz") == []
    assert wn.wnids[wn.default_sense("dog")] == "n02084071"
    assert wn.wnids[wn.default_sense("crane")] == "n03126707"  # the machine, not Hart Crane
    assert lemma_key(" Golden  Retriever ") == "golden_retriever"


def test_hierarchy_queries():
    wn = load_wordnet()
    dog, retriever = wn.row_of["n02084071"], wn.row_of["n02099601"]  # golden retriever
    assert retriever in wn.subtree(dog)
    assert dog in wn.ancestors(retriever)
    assert dog not in wn.subtree(retriever)
    near = wn.within_hops(retriever, 2)
    assert wn.row_of["n02099267"] in near or any(h in near for h in wn.hypernyms[retriever])
    assert wn.within_hops(retriever, 0) == {retriever}
    assert wn.branch(dog) == "animal"
    # instance hypernyms count: Hart Crane is an instance of poet
    hart = wn.row_of["n10914331"]
    assert wn.instance[hart] and wn.hypernyms[hart]


def test_imagenet_classes_agree_with_wordnet():
    wnids = imagenet_wnids()
    assert len(wnids) == 1000 and wnids[0] == "n01440764" and wnids == sorted(wnids)
    rows = imagenet_rows()
    wn = load_wordnet()
    assert wn.noun(rows[0]).name == "tench"


def test_the_noun_table_is_memory_mapped_arrays_not_a_pickle():
    load_wordnet()
    columns = load_columns(table_dir())
    assert {"wnids", "keys", "glosses.blob", "lemmas.ends", "hypernyms.values", "depth"} <= set(columns)
    assert all(isinstance(a.base, np.memmap) and not a.flags.writeable for a in columns.values())
    assert not list(table_dir().glob("*.pkl"))


def test_senses_of_puts_the_most_likely_sense_first():
    wn = load_wordnet()
    crane = [wn.wnids[r] for r in wn.senses_of("crane")]
    assert crane[:2] == ["n03126707", "n02012849"]  # the machine and the bird, then the named entities
    assert sorted(crane) == sorted(wn.wnids[r] for r in wn.lookup("crane"))
    assert wn.senses_of("qwertyzzz") == [] and wn.default_sense("qwertyzzz") is None


@pytest.mark.slow
def test_the_cached_table_is_what_nltk_reads_from_wordnet():
    from nounlens.data.wordnet import _build_table, table_columns

    fresh, cached = table_columns(_build_table()), load_columns(table_dir())
    assert set(fresh) == set(cached)
    assert all(np.array_equal(fresh[name], cached[name]) for name in fresh)
