from embver.core.lineage import Node, render_tree


def test_tree_draws_branches_under_parents():
    nodes = [Node(1, None, "1.0.0"), Node(2, 1, "1.0.1"), Node(3, 1, "1.1.0"), Node(4, 3, "2.0.0")]
    assert render_tree(nodes) == ["1.0.0", "├── 1.0.1", "└── 1.1.0", "    └── 2.0.0"]
