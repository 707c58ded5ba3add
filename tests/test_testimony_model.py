"""The learned testimony scorer: its corpus, its measured quality, and learning from reviewers."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest

from monitor.testimonies.model import featurize, inputs_of, load, shipped_corpus, shipped_model, train
from monitor.testimonies.signals import DEFAULT_SIGNALS, compile_signals
from tests.conftest import rows
from tests.fakes.mastodon import status

SIGNALS = compile_signals(DEFAULT_SIGNALS)
POSITIVE_KINDS = {"intervention", "experience", "outcome", "before_after", "none_since"}
# told in other words: none of the lexicon's phrases matches it
NO_LEXICON = ("Nobody gave up on her. A teacher met her at the gate each day and walked her in. "
              "She has not been sent home once since the autumn.")
HOLDOUT = Path(__file__).parent / "data" / "testimonies_holdout.jsonl"


@pytest.fixture(scope="module")
def model():
    corpus = shipped_corpus()
    return train([r["text"] for r in corpus], [r["testimony"] for r in corpus], SIGNALS, threshold=0.5)


def probability(model, text: str) -> float:
    features, _ = featurize([text], SIGNALS)
    return float(model.probabilities(features)[0])


def test_the_shipped_model_was_trained_on_the_shipped_corpus_and_default_phrases():
    # when this fails, the corpus or the phrases changed: run scripts/train_shipped_model.py
    assert shipped_model().inputs == inputs_of(shipped_corpus(), SIGNALS, 0.5)


def test_a_new_archive_starts_with_the_shipped_model_instead_of_training(fake_mastodon, config_for, run_cli, tmp_path):
    fake_mastodon.add(status("fake.social", 1, text=NO_LEXICON))
    assert run_cli("collect", "-c", str(config_for(fake_mastodon))).exit_code == 0
    assert load(tmp_path / "archive.db.testimony-model.json").version == shipped_model().version


def test_changing_the_phrases_in_config_trains_a_new_model(fake_mastodon, config_for, run_cli, tmp_path):
    fake_mastodon.add(status("fake.social", 1, text=NO_LEXICON))
    extra = '\n[testimonies]\nintervention = ["nurture (group|room)", "a teacher met her"]\n'
    assert run_cli("collect", "-c", str(config_for(fake_mastodon, extra=extra))).exit_code == 0
    trained = load(tmp_path / "archive.db.testimony-model.json")
    assert trained.version != shipped_model().version and trained.inputs["signals"] != shipped_model().inputs["signals"]
    [scored] = rows(tmp_path, "SELECT model_version, reasons FROM testimonies")
    assert scored["model_version"] == trained.version and '"intervention"' in scored["reasons"]


def test_shipped_corpus_is_large_and_covers_many_voices():
    corpus = shipped_corpus()
    voices = collections.Counter(r["voice"] for r in corpus)
    assert len(corpus) >= 300 and len(voices) >= 20
    assert 0.35 < sum(r["testimony"] for r in corpus) / len(corpus) < 0.65
    assert sum(r["identifies_child"] for r in corpus) >= 40


def test_no_label_is_given_away_by_a_single_word():
    by_word: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in shipped_corpus():
        for word in set(re.findall(r"[a-z']+", r["text"].lower())):
            by_word[word][r["testimony"]] += 1
    giveaways = [w for w, labels in by_word.items() if sum(labels.values()) >= 12 and len(labels) == 1]
    assert giveaways == []


def test_cross_validated_precision_and_recall_meet_the_targets(model):
    assert model.cv["folds"] == 5
    assert model.cv["precision"] >= 0.85 and model.cv["recall"] >= 0.90, model.cv


def test_posts_written_after_the_model_are_found(model):
    held_out = [json.loads(line) for line in HOLDOUT.read_text().splitlines()]
    found = [(probability(model, r["text"]) >= 0.5, r["testimony"]) for r in held_out]
    tp = sum(p and t for p, t in found)
    assert tp / sum(p for p, _ in found) >= 0.85 and tp / sum(t for _, t in found) >= 0.85


def test_a_testimony_with_no_lexicon_phrase_is_found(model):
    _, [signals] = featurize([NO_LEXICON], SIGNALS)
    assert not signals.kinds & POSITIVE_KINDS
    assert probability(model, NO_LEXICON) >= 0.5


@pytest.mark.parametrize("text", [
    "Join the campaign! Download the poster and share it in your staffroom #AspireNotToExclude",
    "#AspireNotToExclude #NurtureGroups 💜",
    "We're hiring a Nurture Group Lead for September. Apply by Friday. #AspireNotToExclude",
    "Permanent exclusions rose to 9,400 last year, according to figures published today. #AspireNotToExclude",
])
def test_calls_to_action_adverts_news_and_hashtag_only_posts_are_not_testimonies(model, text):
    assert probability(model, text) < 0.5


def test_the_model_file_beside_the_archive_says_when_and_on_what_it_was_trained(fake_mastodon, config_for, run_cli,
                                                                                tmp_path):
    fake_mastodon.add(status("fake.social", 1, text=NO_LEXICON))
    assert run_cli("collect", "-c", str(config_for(fake_mastodon))).exit_code == 0
    saved = load(tmp_path / "archive.db.testimony-model.json")
    assert saved.trained_at and saved.corpus["size"] >= 300 and saved.cv["recall"] >= 0.9
    [scored] = rows(tmp_path, "SELECT model_version, status FROM testimonies")
    assert scored == {"model_version": saved.version, "status": "candidate"}


SIMILAR = [f"Week {n}: our class had a quiet morning again and everyone got on with their work. {tail}"
           for n, tail in enumerate(["Lovely.", "Nice to see.", "Good week.", "Calm days.", "Happy staff.", "Onwards."])]


def _collect_similar(fake_mastodon, config_for, run_cli, extra: str = "") -> Path:
    for n, text in enumerate(SIMILAR, start=1):
        fake_mastodon.add(status("fake.social", n, text=text))
    config = config_for(fake_mastodon, extra=extra)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    return config


def _scores(tmp_path) -> dict[int, float]:
    return {r["post_id"]: r["score"] for r in rows(tmp_path, "SELECT post_id, score FROM testimonies")}


def test_reviewer_decisions_change_the_next_retrains_scores(fake_mastodon, config_for, run_cli, tmp_path):
    config = _collect_similar(fake_mastodon, config_for, run_cli)
    before = _scores(tmp_path)
    first, *others = sorted(before)
    for post_id in sorted(before)[1:]:
        run_cli("testimonies", "accept", "-c", str(config), str(post_id), "--by", "ana")
    result = run_cli("testimonies", "retrain", "-c", str(config))
    assert result.exit_code == 0 and "5 from reviewers" in result.output
    after = _scores(tmp_path)
    assert after[first] > before[first]  # taught by its neighbours' labels, never labelled itself


def test_the_model_retrains_by_itself_after_enough_new_decisions(fake_mastodon, config_for, run_cli, tmp_path):
    config = _collect_similar(fake_mastodon, config_for, run_cli, extra="\n[testimonies]\nretrain_after = 2\n")
    version = load(tmp_path / "archive.db.testimony-model.json").version
    for post_id in sorted(_scores(tmp_path))[:2]:
        run_cli("testimonies", "reject", "-c", str(config), str(post_id))
    run_cli("testimonies", "list", "-c", str(config))
    retrained = load(tmp_path / "archive.db.testimony-model.json")
    assert retrained.version != version and retrained.corpus["from_reviewers"] == 2
    assert {r["model_version"] for r in rows(tmp_path, "SELECT model_version FROM testimonies")} == {retrained.version}


def test_rescore_redoes_every_score_and_keeps_decisions(fake_mastodon, config_for, run_cli, tmp_path):
    config = _collect_similar(fake_mastodon, config_for, run_cli)
    first = min(_scores(tmp_path))
    run_cli("testimonies", "accept", "-c", str(config), str(first))
    with_marker = rows(tmp_path, "SELECT scored_at FROM testimonies WHERE post_id = ?", [first])[0]["scored_at"]
    result = run_cli("testimonies", "rescore", "-c", str(config))
    assert result.exit_code == 0 and f"rescored {len(SIMILAR)} posts" in result.output
    [again] = rows(tmp_path, "SELECT scored_at, status FROM testimonies WHERE post_id = ?", [first])
    assert again["status"] == "accepted" and again["scored_at"] >= with_marker


def test_candidates_can_be_listed_most_uncertain_first(fake_mastodon, config_for, run_cli, tmp_path):
    config = _collect_similar(fake_mastodon, config_for, run_cli)
    lines = run_cli("testimonies", "list", "-c", str(config), "--order", "uncertain", "--json").output.splitlines()
    distances = [abs(json.loads(line)["score"] - 0.5) for line in lines]
    assert distances == sorted(distances)


def test_a_threshold_that_is_not_a_probability_is_a_one_line_error(fake_mastodon, config_for, run_cli):
    config = config_for(fake_mastodon, extra="\n[testimonies]\nthreshold = 3.5\n")
    result = run_cli("collect", "-c", str(config))
    assert result.exit_code == 2 and "threshold = 3.5 is not a probability" in result.output
