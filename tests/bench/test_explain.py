"""The EXPLAIN gate catches a sequential scan of a big table, and only that."""

from bench.explain import seq_scans, shape

SIZES = {"customers": 1_000_000, "users": 150, "contacts": 1_500_000}


def node(kind: str, relation: str | None = None, *children: dict, index: str | None = None):
    plan: dict = {"Node Type": kind}
    if relation:
        plan["Relation Name"] = relation
    if index:
        plan["Index Name"] = index
    if children:
        plan["Plans"] = list(children)
    return plan


def test_a_seq_scan_of_a_large_table_is_found_however_deep_it_sits():
    plan = node(
        "Limit",
        None,
        node("Sort", None, node("Hash Join", None, node("Seq Scan", "customers"),
                                node("Hash", None, node("Seq Scan", "users")))),
    )  # fmt: skip
    assert seq_scans(plan, SIZES, threshold=5_000) == ["customers"]


def test_index_scans_and_seq_scans_of_small_tables_pass():
    plan = node(
        "Nested Loop",
        None,
        node("Seq Scan", "users"),
        node("Index Scan", "customers", index="pk_customers"),
        node("Bitmap Heap Scan", "contacts", node("Bitmap Index Scan", index="ix_contacts")),
    )
    assert seq_scans(plan, SIZES, threshold=5_000) == []


def test_the_threshold_decides_what_counts_as_large():
    plan = node("Seq Scan", "users")
    assert seq_scans(plan, SIZES, threshold=100) == ["users"]
    assert seq_scans(node("Seq Scan", "unknown_table"), SIZES, threshold=1) == []


def test_plan_shape_ignores_costs_but_sees_a_different_index():
    by_owner = node("Limit", None, node("Index Scan", "customers", index="ix_owner"))
    by_date = node("Limit", None, node("Index Scan", "customers", index="ix_created"))
    with_costs = node("Limit", None, node("Index Scan", "customers", index="ix_owner"))
    with_costs["Total Cost"] = 12.5
    assert shape(by_owner) == shape(with_costs)
    assert shape(by_owner) != shape(by_date)
