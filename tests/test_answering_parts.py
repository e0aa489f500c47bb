"""The parts that make answers generalise: question analysis, layout roles, the fitted model
file, fitting with cross-validation, and the calibration report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.answer.questions import analyse
from qa.answer.scoring import DEFAULT_MODEL_FILE, ScoringModel, load_model
from qa.answer.service import QAService
from qa.chunking.passages import ChunkingParams, chunk_document
from qa.embedding.encoder import HashingEmbedder
from qa.errors import QAError
from qa.records import BODY, FRONT, FURNITURE, Document, DocumentMeta


def _doc(text: str) -> Document:
    return Document("d.txt", text, DocumentMeta("T"), "x")


def _roles(text: str) -> list[tuple[str, int]]:
    chunked = chunk_document(_doc(text), ChunkingParams())
    return [(text[s.start : s.end], s.role) for s in chunked.sentences]


def test_a_title_line_and_dateline_are_front_matter_not_body() -> None:
    text = "Thursday, 20 February 2025\n\nPeru\n\nPeru is a country in South America. Its capital is Lima.\n"
    assert _roles(text) == [("Thursday, 20 February 2025", FRONT), ("Peru", FRONT),
                            ("Peru is a country in South America.", BODY), ("Its capital is Lima.", BODY)]


def test_a_short_lead_sentence_opens_the_body() -> None:
    roles = _roles("Hunt the Wumpus\n\nA fantasy computer game, created by Gregory Yob.\n\nIt has caves.\n")
    assert roles[1] == ("A fantasy computer game, created by Gregory Yob.", BODY)


def test_furniture_in_the_body_is_marked() -> None:
    text = ("Rivers carry water to the sea. They shape valleys.\n\nFigure 2 Flow by month\n\n"
            "The Evolution of River Policy and Its Effect on Trade.\n\nFloods come in spring.\n")
    roles = dict(_roles(text))
    assert roles["Figure 2 Flow by month"] == FURNITURE
    assert roles["The Evolution of River Policy and Its Effect on Trade."] == FURNITURE  # a title, full stop or not
    assert roles["Floods come in spring."] == BODY


@pytest.mark.parametrize(
    ("question", "about"),
    [("Who wrote the paper?", True), ("When was the journal article accepted?", True),
     ("In which journal does the paper appear?", True), ("Who wrote Hamlet?", False),
     ("What does the blog say about the nuclear issue?", False)],
)
def test_questions_about_a_document_are_told_apart(question: str, about: bool) -> None:
    assert analyse(question, frozenset({"blog"})).about_document is about


def test_question_terms_leave_out_framing_and_keep_place_aliases() -> None:
    q = analyse("According to the blog, what did Moscow supply?")
    assert "blog" not in q.terms and "accord" not in q.terms
    assert "russia" in q.aliases[q.terms.index("moscow")]


def test_front_matter_answers_only_questions_about_the_document(tmp_path: Path, embedder: HashingEmbedder) -> None:
    from qa.index.build import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "paper.txt").write_text(
        "Received: 2023/03/01\n\nRiver Flow in Deserts\n\nJane Roe\n\n"
        "Rivers in deserts lose water to evaporation. Their flow falls in summer.\n", encoding="utf-8")
    build_index(corpus, tmp_path / "index", embedder)
    service = QAService(tmp_path / "index", embedder)
    service.load()
    about = service.ask("When did the journal receive the paper?", 5)
    assert any("2023/03/01" in e.text for e in about.excerpts)
    other = service.ask("What happens to river flow?", 5)
    assert all("Received" not in e.text and e.text != "River Flow in Deserts" for e in other.excerpts)


def test_the_packaged_model_loads_and_records_its_left_out_figures() -> None:
    """The packaged model was fitted on the question bank's open collections (never on a
    sealed one) by benchmarks/bank.py, which recorded its leave-one-collection-out figures."""
    model = load_model(DEFAULT_MODEL_FILE)
    data = json.loads(DEFAULT_MODEL_FILE.read_text())
    assert data["format"] == "qa-scoring" and {"ranker", "confidence", "answerable"} <= set(data)
    bank = Path(__file__).resolve().parent.parent / "eval" / "bank"
    sealed = {p.parent.name for p in bank.glob("*/README.md") if "- Part: sealed" in p.read_text()}
    open_ = {p.parent.name for p in bank.glob("*/README.md")} - sealed
    assert sealed and {Path(f).name for f in data["fitted_on"]} == open_
    left_out = data["leave_one_collection_out"]
    assert 0 < left_out["hit@1"]["worst"] <= left_out["hit@1"]["mean"] <= 1
    assert 0 < model.no_answer_below < 1


def test_a_damaged_model_file_says_how_to_refit(tmp_path: Path) -> None:
    bad = tmp_path / "scoring.json"
    bad.write_text(json.dumps({"format": "qa-scoring", "version": 1, "ranker": {"features": ["x"]}}))
    with pytest.raises(QAError, match="qa eval --fit"):
        load_model(bad)
    with pytest.raises(QAError, match="not a usable scoring model"):
        ScoringModel.from_json("{not json")


def _questions(path: Path) -> Path:
    items = [
        {"id": "a1", "question": "Which river is the longest in Africa?", "document": "alpha.md",
         "evidence": ["The Nile is the longest river in Africa."], "answer": "The Nile", "type": "factoid"},
        {"id": "a2", "question": "When was the Aswan High Dam completed?", "document": "alpha.md",
         "evidence": ["The Aswan High Dam was completed in 1970."], "answer": "1970", "type": "date"},
        {"id": "a3", "question": "How tall is Mount Everest?", "document": "beta.txt",
         "evidence": ["Mount Everest is 8,849 metres tall."], "answer": "8,849 metres", "type": "number"},
        {"id": "a4", "question": "What is the summit of Kilimanjaro called?", "document": "beta.txt",
         "evidence": ["Its summit is called Uhuru Peak, and the first recorded ascent was in 1889."],
         "answer": "Uhuru Peak", "type": "factoid"},
        {"id": "a5", "question": "Which river carries the most water?", "document": "alpha.md",
         "evidence": ["The Amazon carries more water than any other river."], "answer": "The Amazon",
         "type": "factoid"},
        {"id": "a6", "question": "What does the Aswan dam control?", "document": "alpha.md",
         "evidence": ["It controls the annual flood of the Nile."], "answer": "the annual flood of the Nile",
         "type": "factoid"},
        {"id": "u1", "question": "Who painted the Mona Lisa?", "answerable": False, "type": "off-topic"},
        {"id": "u2", "question": "How do I bake sourdough bread?", "answerable": False, "type": "off-topic"},
        {"id": "u3", "question": "What is the price of a train ticket to Paris?", "answerable": False,
         "type": "off-topic"},
    ]
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


def test_fitting_cross_validates_and_writes_a_model_the_service_uses(
    tmp_path: Path, index_dir: Path, embedder: HashingEmbedder
) -> None:
    from qa.evaluation import fitting
    from qa.evaluation.metrics import load_questions

    items = load_questions(_questions(tmp_path / "q.jsonl"))
    service = QAService(index_dir, embedder, fitting.bootstrap_model())
    service.load()
    samples = fitting.collect(service, items)
    assert sum(s.labels.any() for s in samples if s.answerable) >= 5
    cv = fitting.cross_validate(samples, k=3)
    assert len(cv["answers"]) == len(items)  # every question answered once, by a model not fitted on it
    assert sorted(n for n, _ in cv["answers"]) == list(range(len(items)))
    for fold in fitting.folds(samples, 3):
        assert fold  # no fold is empty
    model = fitting.fit(samples, {"note": "test"})
    out = tmp_path / "scoring.json"
    out.write_text(model.to_json())
    again = load_model(out)
    assert np.allclose(again.ranker.weights, model.ranker.weights, atol=1e-5)
    refitted = QAService(index_dir, embedder, again)
    refitted.load()
    answer = refitted.ask("Which river is the longest in Africa?", 3)
    assert answer.excerpts and all(0.0 <= e.score <= 1.0 for e in answer.excerpts)


def test_balanced_fitting_weighs_every_collection_alike(
    tmp_path: Path, index_dir: Path, embedder: HashingEmbedder
) -> None:
    from qa.evaluation import fitting
    from qa.evaluation.metrics import load_questions

    items = load_questions(_questions(tmp_path / "q.jsonl"))
    items = [{**item, "collection": "big" if n < 4 else "small"} for n, item in enumerate(items)]
    service = QAService(index_dir, embedder, fitting.bootstrap_model())
    service.load()
    samples = fitting.collect(service, items)
    weights = fitting.sample_weights(samples, balance=True)
    assert np.isclose(weights.mean(), 1.0)
    assert np.isclose(weights[:4].sum(), weights[4:].sum())  # 4 questions weigh as much as 5
    assert np.array_equal(fitting.sample_weights(samples, balance=False), np.ones(len(samples)))
    plain = fitting.fit(samples)
    balanced = fitting.fit(samples, params=fitting.FitParams(balance=True))
    assert not np.allclose(plain.ranker.weights, balanced.ranker.weights)


def test_eval_report_writes_a_reliability_diagram_and_a_table(
    tmp_path: Path, index_dir: Path, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa import cli
    from qa.embedding.encoder import HashingEmbedder

    monkeypatch.setattr(cli, "_embedder", lambda settings: HashingEmbedder())
    questions = _questions(tmp_path / "q.jsonl")
    report = tmp_path / "report"
    code = cli.main(["eval", str(questions), "--index", str(index_dir), "--corpus", str(corpus_dir),
                     "--report", str(report), "--json"])
    assert code == 0
    png = (report / "reliability.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    table = (report / "by_type.md").read_text()
    assert "| factoid |" in table and "| off-topic |" in table
    data = json.loads((report / "metrics.json").read_text())
    assert sum(row["count"] for row in data["calibration"]) > 0
    assert 0.0 <= data["expected_calibration_error"] <= 1.0
