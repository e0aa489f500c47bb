"""``qa mcp`` as an agent meets it: a subprocess spoken to through the official MCP SDK's
stdio client, asking, listing documents and checking a quote against the source."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest

REPO = Path(__file__).resolve().parent.parent


def session(index: Path, calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[Any]]:
    """Start ``qa mcp``, call ``calls`` in one client session; in a thread of its own, since
    another test's browser may hold this thread's event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, _session, index, calls).result(timeout=600)


async def _session(index: Path, calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[Any]]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "qa", "mcp", "--index", str(index)],
                                   cwd=str(REPO))
    with open("/dev/null", "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = [t.name for t in (await session.list_tools()).tools]
                results = [await session.call_tool(name, arguments) for name, arguments in calls]
    return tools, results


@pytest.mark.model
def test_an_agent_asks_lists_and_verifies_a_quote(real_index: Path, real_service) -> None:
    question = "Which Ukrainian president was ousted in 2014?"
    history = ["Which missile deal did Russia cancel in 2010?"]
    tools, (asked, listed, filtered, bad, followup) = session(real_index, [
        ("ask", {"question": question, "top_k": 3}),
        ("list_documents", {}),
        ("ask", {"question": question, "top_k": 2, "documents": ["000_efb6ce931ab2f2e4.txt"]}),
        ("ask", {"question": question, "documents": ["no-such.txt"]}),
        ("ask", {"question": "What did that show?", "top_k": 2, "history": history}),
    ])
    assert sorted(tools) == ["ask", "get_document", "list_documents"]
    body = asked.structured_content
    expected = real_service.ask(question, 3)
    assert not asked.is_error and body["no_answer"] is False and len(body["answers"]) == 3
    assert [(a["source"]["document"], a["source"]["start"], a["source"]["end"], a["text"]) for a in body["answers"]] \
        == [(e.source.document, e.source.start, e.source.end, e.text) for e in expected.excerpts]
    assert "Yanukovych" in body["answers"][0]["text"]
    documents = listed.structured_content["result"]
    assert {d["document"] for d in documents} == {d.id for d in real_service.documents()}
    assert {a["source"]["document"] for a in filtered.structured_content["answers"]} == {"000_efb6ce931ab2f2e4.txt"}
    assert bad.is_error and "no-such.txt" in bad.content[0].text
    read = real_service.ask("What did that show?", 2, history=history)
    assert read.interpreted_as and followup.structured_content["interpreted_as"] == read.interpreted_as
    assert [a["text"] for a in followup.structured_content["answers"]] == [e.text for e in read.excerpts]

    top = body["answers"][0]
    src = top["source"]
    _, (quoted, whole, wrong) = session(real_index, [
        ("get_document", {"document": src["document"], "start": src["start"], "end": src["end"]}),
        ("get_document", {"document": src["document"]}),
        ("get_document", {"document": src["document"], "start": 10, "end": 5}),
    ])
    assert quoted.structured_content["text"] == top["text"]  # the quote is verbatim
    assert whole.structured_content["text"][src["start"]:src["end"]] == top["text"]
    assert whole.structured_content["characters"] == len(whole.structured_content["text"])
    assert wrong.is_error and "start" in wrong.content[0].text
