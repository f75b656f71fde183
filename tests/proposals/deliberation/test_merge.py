"""Three-way merge (pure): clean merges, conflicts, identical changes, ends, Chinese text."""

from __future__ import annotations

import pytest

from proposals.deliberation.merge import Conflict, leftover_markers, merge3

BASE = "第一条：加装电梯。\n第二条：费用分摊。\n第三条：施工时间。\n第四条：维护责任。\n"


def test_unchanged_sides_give_the_base():
    rv = merge3(BASE, BASE, BASE)
    assert rv.clean and rv.text == BASE and rv.conflicts == []


def test_only_theirs_changed():
    theirs = BASE.replace("费用分摊", "费用按楼层分摊")
    rv = merge3(BASE, BASE, theirs)
    assert rv.clean and rv.text == theirs


def test_only_ours_changed():
    ours = BASE.replace("施工时间", "施工时间为8:00–18:00")
    rv = merge3(BASE, ours, BASE)
    assert rv.clean and rv.text == ours


def test_non_overlapping_edits_merge_cleanly():
    ours = BASE.replace("第一条：加装电梯。", "第一条：在3号楼北侧加装电梯。")
    theirs = BASE.replace("第四条：维护责任。", "第四条：维护责任由物业承担。")
    rv = merge3(BASE, ours, theirs)
    assert rv.clean
    assert rv.text == (
        "第一条：在3号楼北侧加装电梯。\n第二条：费用分摊。\n第三条：施工时间。\n"
        "第四条：维护责任由物业承担。\n"
    )


def test_overlapping_edits_conflict_with_markers():
    ours = BASE.replace("费用分摊。", "费用由政府补贴一半。")
    theirs = BASE.replace("费用分摊。", "费用按楼层分摊，一楼不出资。")
    rv = merge3(BASE, ours, theirs, ours_label="当前", theirs_label="修正案")
    assert not rv.clean
    assert rv.conflicts == [
        Conflict(
            ours="第二条：费用由政府补贴一半。",
            theirs="第二条：费用按楼层分摊，一楼不出资。",
            base="第二条：费用分摊。",
        )
    ]
    assert rv.text == (
        "第一条：加装电梯。\n"
        "<<<<<<< 当前\n第二条：费用由政府补贴一半。\n=======\n"
        "第二条：费用按楼层分摊，一楼不出资。\n>>>>>>> 修正案\n"
        "第三条：施工时间。\n第四条：维护责任。\n"
    )
    assert [c.conflict for c in rv.chunks if c.conflict] == rv.conflicts
    assert rv.chunks[0].text == "第一条：加装电梯。"
    assert rv.chunks[-1].text == "第三条：施工时间。\n第四条：维护责任。"


def test_identical_changes_on_both_sides_are_taken_once():
    changed = BASE.replace("施工时间。", "施工避开22:00–07:00。")
    rv = merge3(BASE, changed, changed)
    assert rv.clean and rv.text == changed


def test_both_delete_the_same_line():
    changed = BASE.replace("第三条：施工时间。\n", "")
    assert merge3(BASE, changed, changed).text == changed


def test_one_side_deletes_a_line_the_other_keeps():
    deleted = BASE.replace("第三条：施工时间。\n", "")
    other = BASE.replace("第一条：加装电梯。", "第一条：加装一部电梯。")
    rv = merge3(BASE, other, deleted)
    assert rv.clean
    assert rv.text == "第一条：加装一部电梯。\n第二条：费用分摊。\n第四条：维护责任。\n"


def test_delete_against_edit_conflicts():
    deleted = BASE.replace("第三条：施工时间。\n", "")
    edited = BASE.replace("施工时间。", "施工时间另议。")
    rv = merge3(BASE, edited, deleted)
    assert not rv.clean
    assert rv.conflicts == [Conflict("第三条：施工时间另议。", "", "第三条：施工时间。")]


def test_insertions_at_both_ends():
    ours = "前言：本方案经居委会讨论。\n" + BASE
    theirs = BASE + "附：费用分摊表。\n"
    rv = merge3(BASE, ours, theirs)
    assert rv.clean
    assert rv.text == ours + "附：费用分摊表。\n"


def test_different_insertions_at_the_same_end_conflict():
    rv = merge3(BASE, BASE + "附一\n", BASE + "附二\n")
    assert not rv.clean
    assert rv.conflicts == [Conflict("附一", "附二", "")]
    assert rv.text.startswith(BASE + "<<<<<<< current\n附一\n=======\n附二\n>>>>>>> amendment")


def test_same_insertion_at_the_start_is_taken_once():
    rv = merge3(BASE, "标题\n" + BASE, "标题\n" + BASE)
    assert rv.clean and rv.text == "标题\n" + BASE


def test_lines_shared_at_the_edges_of_a_conflict_stay_outside_it():
    ours = BASE.replace("第二条：费用分摊。", "第二条：甲。\n共同的补充。")
    theirs = BASE.replace("第二条：费用分摊。", "第二条：乙。\n共同的补充。")
    rv = merge3(BASE, ours, theirs)
    assert rv.conflicts == [Conflict("第二条：甲。", "第二条：乙。", "第二条：费用分摊。")]
    assert "=======\n第二条：乙。\n>>>>>>> amendment\n共同的补充。\n" in rv.text


def test_empty_base_and_texts_without_final_newline():
    assert merge3("", "", "新文本").text == "新文本"
    rv = merge3("a\nb", "a\nB", "a\nb\nc")
    assert not rv.clean  # an edit of the last line against an addition after it
    assert merge3("a\nb\nc", "A\nb\nc", "a\nb\nC").text == "A\nb\nC"


def test_a_table_added_in_the_middle_merges_with_an_edit_elsewhere():
    table = "| 楼层 | 分摊比例 |\n|---|---|\n| 1 | 0% |\n| 6 | 28% |\n"
    theirs = BASE.replace("第二条：费用分摊。\n", "第二条：费用分摊。\n" + table)
    ours = BASE.replace("第四条：维护责任。", "第四条：维护责任由业主共同承担。")
    rv = merge3(BASE, ours, theirs)
    assert rv.clean
    assert table in rv.text and "由业主共同承担" in rv.text


@pytest.mark.parametrize(
    ("text", "sources", "expected"),
    [
        ("一\n二\n", (), []),
        ("一\n<<<<<<< current\n二\n=======\n三\n>>>>>>> amendment\n", (), [2, 4, 6]),
        ("标题\n=======\n正文", (), [2]),
        ("标题\n=======\n正文", ("标题\n=======\n",), []),  # a Markdown heading underline
        ("<<<<<<<\n", (), [1]),
        ("<<<<<<<< eight is not a marker\n>>>>>>>>\n", (), []),
        ("说明：<<<<<<< 不在行首\n", (), []),
    ],
)
def test_leftover_markers(text, sources, expected):
    assert leftover_markers(text, *sources) == expected


def test_merged_text_with_conflicts_has_markers_and_resolved_text_has_none():
    rv = merge3(BASE, BASE.replace("一", "壹"), BASE.replace("一", "1"))
    assert leftover_markers(rv.text)
    before, after = rv.text.split("<<<<<<<")[0], rv.text.split(">>>>>>> amendment\n")[1]
    resolved = before + "第壹条：加装电梯。\n" + after
    assert leftover_markers(resolved) == []
