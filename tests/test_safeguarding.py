"""Safeguarding: a post that could identify a child is flagged, recall first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.testimonies.safeguarding import identifying_details
from monitor.testimonies.model import shipped_corpus

HOLDOUT = Path(__file__).parent / "data" / "safeguarding_holdout.jsonl"


@pytest.mark.parametrize("text", [
    "ellie in 4b has a key adult now and hasn't missed a day",
    "my son leo is 7 and at ashgrove, the nurture group changed everything",
    "Maya's first term at Riverside High and not one phone call home",
    "Sam from 3C smashed his reading target",
    "Isla (Y5) loves the nurture room",
    "our Alfie in reception has settled so well",
    "our little Theo started at Beechwood Academy in September",
    "my granddaughter amelia, 9, goes to the nurture group now",
    "Leah with her dad outside the school gates on her first day back",
    "Oscar and Ruby both in the nurture group at St Mark's",
    "her brother Reuben is in year 4 too",
    "J.T. at Parkside Primary has not been excluded once",
    "So proud of Harvey from Tadcaster, he's been in class every day",
    "Big shout out to jayden (yr 3) for staying in class all week",
])
def test_a_post_that_could_identify_a_child_is_flagged(text):
    assert identifying_details(text)


def test_a_lower_case_name_with_a_class_is_flagged_at_the_name():
    text = "ellie in 4b has a key adult now"
    [flag] = identifying_details(text)
    assert text[flag.start:flag.end] == "ellie" and flag.label == "a child's first name with a class"


@pytest.mark.parametrize("text", [
    "The nurture group at our school kept so many children in class this year",
    "Gillian Keegan visited a school in Leeds to talk about attendance",
    "Mrs Patel runs the nurture room at our school",
    "Professor Paul Cooper says nurture groups work",
    "Will the government fund nurture groups? #AspireNotToExclude",
    "Grace under pressure: our staff were amazing this term",
    "I taught Year 6 for ten years and never saw anything like the nurture room",
    "Poppy finished in 2nd place",
])
def test_adults_and_posts_naming_nobody_are_not_flagged(text):
    assert identifying_details(text) == []


def test_a_flag_records_the_kind_and_position_never_the_words():
    [flag] = identifying_details("My son Jamie, aged 7, was nearly excluded")
    assert set(vars(flag)) == {"label", "start", "end"} and "Jamie" not in flag.label


def test_every_identifying_post_of_the_corpus_is_flagged_with_few_false_flags():
    corpus = shipped_corpus()
    flagged = [(bool(identifying_details(r["text"])), r["identifies_child"]) for r in corpus]
    assert all(f for f, child in flagged if child)
    negatives = [f for f, child in flagged if not child]
    assert sum(negatives) / len(negatives) <= 0.25


def test_every_identifying_post_written_after_the_detector_is_flagged():
    held_out = [json.loads(line) for line in HOLDOUT.read_text().splitlines() if line.strip()]
    missed = [r["text"] for r in held_out if r["identifies_child"] and not identifying_details(r["text"])]
    assert missed == []


def test_control_characters_and_lone_surrogates_do_not_stop_the_check():
    assert identifying_details("my son \x00leo\x1b[31m is 7 \ud800 and at ashgrove")
