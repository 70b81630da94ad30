"""The split layout's placement arithmetic (bookgen/layout_plan.py), alone: no WeasyPrint, no processes. Each
expected value is worked out by hand in the comments."""
from bookgen.layout_plan import Group, Paginated, Plan, Refinish, page_counters


class NoCache:
    """GroupCache's interface, holding nothing (every group is laid out)."""
    def key(self, *parts):
        return repr(parts)

    def get(self, key):
        return None

    def put(self, key, value):
        pass


def test_page_counters_follow_the_pages_before():
    # a group counted its pages 1..4; the book's page before its first kept page (index 1) is folio 10
    assert page_counters([1, 2, 3, 4], 1, 10) == [11, 12, 13]
    # the group resets the counter on its third page (…, 1): from there its own values are the book's
    assert page_counters([1, 2, 1, 2], 0, 5) == [6, 7, 1, 2]


def groups(n):
    return [Group(i, f'<html lang="en"><head></head><body class="b"><p>{i}</p></body></html>', (),
                  None if i == 0 else f"c{i}") for i in range(n)]


def test_groups_are_placed_in_order_with_a_blank_left_page_kept_after_an_odd_count():
    plan = Plan(groups(3), NoCache(), [])
    assert plan.todo == [1, 2]  # nothing in the cache
    # group 2 says its pages first: it cannot be placed before group 1
    plan.on_paginated(Paginated(2, start=1, blank=True, counters=[1, 2, 3], strings={"h": "B"}, pages=2))
    assert plan.finishes == {}
    plan.set_front(pages=3, counter=3, strings={"h": "front"})  # i, ii, iii: the body opens on page index 3
    plan.on_paginated(Paginated(1, start=1, blank=True, counters=[1, 2, 3, 4], strings={"h": "A"}, pages=3))
    one, two = plan.finishes[1], plan.finishes[2]
    # 3 front pages end on a right-hand page: group 1 keeps its blank left page, folio 1 is page index 4
    assert (one.keep_blank, one.global_start, one.body_start, one.counter_before) == (True, 3, 4, 3)
    assert one.strings == {"h": "front"}
    # group 1 adds its blank page and 3 pages: 7 pages; odd again, so group 2 keeps its blank page too
    assert (two.keep_blank, two.global_start, two.counter_before) == (True, 7, 7)
    assert two.strings == {"h": "A"}  # the running head carried from group 1
    assert plan.body_start == 4


def test_an_even_count_drops_the_blank_page():
    plan = Plan(groups(2), NoCache(), [])
    plan.set_front(pages=4, counter=4, strings={})
    plan.on_paginated(Paginated(1, start=1, blank=True, counters=[1, 2, 3], strings={}, pages=2))
    assert (plan.finishes[1].keep_blank, plan.finishes[1].global_start, plan.body_start) == (False, 4, 4)


class DictCache(NoCache):
    """GroupCache's interface over a dict, noting the entries a build keeps."""
    def __init__(self, entries):
        self.entries, self.kept = dict(entries), set()

    def get(self, key):
        return self.entries.get(key)

    def keep(self, key):
        self.kept.add(key)


def body(**fields):
    return {"pdf": b"%PDF", "pages": 2, "first": 0, "blank": True, "counters": [1, 2, 3], "margins": [],
            "starts": [], "anchors": {}, "font_glyphs": {}, "warnings": [], "moved": [], "strings": {}, **fields}


def paginated_entry(blank):
    return {"index": 1, "start": 1, "blank": blank, "counters": [1, 2, 3], "strings": {}, "pages": 2}


def test_a_group_whose_pages_are_cached_is_only_given_its_folios():
    # group 1's page breaks and its pages (its Body, drawn without margins: keyed on nothing of its place) are in
    # the cache, not its result at this place: it is not laid out, only given its margins (folios, heads)
    key = Plan(groups(2), NoCache(), []).groups[1].key
    cache = DictCache({key: paginated_entry(True), NoCache().key(key, "body"): body()})
    plan = Plan(groups(2), cache, [])
    assert plan.todo == []  # its page breaks are known
    plan.set_front(pages=4, counter=4, strings={"h": "front"})
    assert len(plan.todo) == 1 and isinstance(plan.todo[0], Refinish)
    item = plan.take()
    # 4 front pages end on a left-hand page: its blank page is dropped, folio 1 is page index 4
    assert (item.index, item.finish.keep_blank, item.finish.counter_before, item.finish.global_start) == (
        1, False, 4, 4)
    # its folios are drawn in its document with an empty body (the root and body keep their attributes)
    assert item.html == '<html lang="en"><head></head><body class="b"></body></html>'
    assert item.body.pages == 2 and item.body.blank


def test_a_cached_result_keeps_the_pages_it_was_made_from():
    from dataclasses import asdict

    from bookgen.layout_plan import Finish
    key = Plan(groups(2), NoCache(), []).groups[1].key
    # at 3 front pages (odd), group 1 keeps a blank page: it starts at index 3, folio 1 at index 4
    result = {"index": 1, "pdf": b"", "pages": 3, "labels": ["", "1", "2"], "starts": [], "anchor_counters": {},
              "font_glyphs": {}, "warnings": [], "moved": [], "counter_last": 5, "strings": {}, "seconds": {}}
    cache = DictCache({key: paginated_entry(True),
                       NoCache().key(key, asdict(Finish(True, 3, {"h": "front"}, 3, 4))): result})
    plan = Plan(groups(2), cache, [])
    plan.set_front(pages=3, counter=3, strings={"h": "front"})
    assert 1 in plan.results and plan.todo == []
    # an edit before it that moves its folios will need its pages: they are kept
    assert cache.kept == {NoCache().key(key, "body")}


def test_a_group_laid_out_before_its_place_is_known_waits_for_it_without_a_process():
    # group 2 is laid out (its Body) before group 1 has said how many pages it has: nothing can be drawn yet;
    # once group 1 is paginated, group 2 is placed and its margins are to be drawn (a Refinish)
    from bookgen.layout_plan import Body, LaidOut
    plan = Plan(groups(3), NoCache(), [])
    plan.set_front(pages=4, counter=4, strings={})
    assert plan.take() == 1 and plan.take() == 2
    plan.on_paginated(Paginated(2, start=1, blank=True, counters=[1, 2, 3], strings={}, pages=2))
    plan.on_laid_out(LaidOut(2, Body(**body()), {"layout": 1.0}))
    assert plan.todo == [] and plan.laid_out == 1
    # group 1: 4 front pages (even), no blank page kept, 3 pages: the book so far has 7 pages (odd), so group 2
    # keeps its blank page, folio 1 being page index 4: group 2 starts at index 7 with counter 7
    plan.on_paginated(Paginated(1, start=1, blank=True, counters=[1, 2, 3, 4], strings={}, pages=3))
    item = plan.take()
    assert isinstance(item, Refinish) and item.index == 2
    assert (item.finish.keep_blank, item.finish.global_start, item.finish.counter_before) == (True, 7, 7)
