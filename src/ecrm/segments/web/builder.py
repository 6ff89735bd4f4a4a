"""The visual rule builder's model: a tree of nodes <-> the console form <-> a definition.

No JavaScript framework: the whole builder is one HTML form. Every node writes its fields
with its id as suffix (``kind_n3``, ``op_n3``, ``value_n3`` ...) and its parent
(``parent_n3``); the server rebuilds the tree from the form, applies the button pressed
(add a condition or a group, wrap in NOT, remove), turns the tree into a definition and
validates it. A validation error's JSON path (``match.all[1].any[0].op``) is mapped back to
the node it came from, so the message is shown on that node.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ecrm.core.forms import split_list
from ecrm.segments import rules

GROUPS = ("all", "any")
LEAVES = ("profile", "attribute", "figure", "consent", "event", "page", "score", "loyalty")
ROOT = "n0"


@dataclass
class Node:
    id: str
    kind: str  # all, any, not, or a leaf kind
    field: str = ""
    op: str = ""
    value: str = ""
    value2: str = ""  # the high end of "between"
    value_type: str = "text"  # attributes: text, number or bool
    status: str = "granted"  # consent
    name: str = ""  # event or page name
    category: str = ""
    count_op: str = "gte"
    count_value: str = "1"
    days: str = "30"
    children: list = dataclasses.field(default_factory=list)
    error: str = ""

    @property
    def is_group(self) -> bool:
        return self.kind in GROUPS

    @property
    def is_not(self) -> bool:
        return self.kind == "not"


# ---------------------------------------------------------------------------------------
# definition -> tree


class _Ids:
    def __init__(self, start: int = 1):
        self.next = start

    def __call__(self) -> str:
        value = f"n{self.next}"
        self.next += 1
        return value


def from_definition(raw: dict | None) -> Node:
    """The editing tree of a stored definition; the root is always an AND / OR group."""
    ids = _Ids(0)  # the root group is n0
    match = (raw or {}).get("match") if isinstance(raw, dict) else None
    if not match:
        return Node(ROOT, "all")
    node = _from_raw(match, ids)
    if node.is_group:
        return node
    node.id = ids()
    return Node(ROOT, "all", children=[node])


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _from_raw(raw, ids: _Ids) -> Node:
    if not isinstance(raw, dict):
        return Node(ids(), "profile")
    for key in GROUPS:
        if key in raw:
            children = raw[key] if isinstance(raw[key], list) else []
            return Node(ids(), key, children=[_from_raw(c, ids) for c in children])
    if "not" in raw:
        return Node(ids(), "not", children=[_from_raw(raw["not"], ids)])
    for kind in ("profile", "attribute", "figure", "score", "loyalty"):
        if kind in raw:
            node = Node(ids(), kind, field=str(raw[kind]), op=str(raw.get("op", "")))
            value = raw.get("value")
            if node.op == "between" and isinstance(value, list) and len(value) == 2:
                node.value, node.value2 = _text(value[0]), _text(value[1])
            else:
                node.value = _text(value)
            if kind == "attribute":
                sample = value[0] if isinstance(value, list) and value else value
                node.value_type = (
                    "bool"
                    if isinstance(sample, bool)
                    else "number"
                    if isinstance(sample, int | float)
                    else "text"
                )
            return node
    if "consent" in raw:
        return Node(ids(), "consent", field=str(raw["consent"]), status=str(raw.get("status")))
    if "event" in raw or "page" in raw:
        kind = "event" if "event" in raw else "page"
        count = raw.get("count") if isinstance(raw.get("count"), dict) else {}
        where = raw.get("where") if isinstance(raw.get("where"), dict) else {}
        return Node(
            ids(),
            kind,
            name=_text(raw[kind]),
            category=_text(where.get("category_prefix")),
            count_op=str(count.get("op", "gte")),
            count_value=_text(count.get("value", 1)),
            days=_text(raw.get("within_days", 30)),
        )
    return Node(ids(), "profile")


# ---------------------------------------------------------------------------------------
# form -> tree


_FIELDS = (
    "field",
    "op",
    "value",
    "value2",
    "value_type",
    "status",
    "name",
    "category",
    "count_op",
    "count_value",
    "days",
)
_ID = re.compile(r"^n\d{1,6}$")


def from_form(data) -> Node:
    """The tree the form describes (``node`` lists ids in document order)."""
    nodes: dict[str, Node] = {}
    order: list[str] = []
    for node_id in data.getlist("node"):
        if not _ID.match(node_id) or node_id in nodes:
            continue
        kind = data.get(f"kind_{node_id}", "")
        if kind not in (*GROUPS, "not", *LEAVES):
            continue
        node = Node(node_id, kind)
        for name in _FIELDS:
            if f"{name}_{node_id}" in data:
                setattr(node, name, data.get(f"{name}_{node_id}", "").strip()[:200])
        nodes[node_id] = node
        order.append(node_id)
    root = nodes.get(ROOT)
    if root is None or not root.is_group:
        root = Node(ROOT, "all")
        nodes[ROOT] = root
    for node_id in order:
        if node_id == ROOT:
            continue
        parent = nodes.get(data.get(f"parent_{node_id}", ""))
        if parent is None or not (parent.is_group or parent.is_not):
            parent = root
        if parent.is_not and parent.children:
            continue  # NOT holds one node
        parent.children.append(nodes[node_id])
    return root


def all_nodes(root: Node) -> list[Node]:
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out


def apply(root: Node, action: str) -> None:
    """A builder button: ``add:<group>:<kind>``, ``group:<group>:all|any``,
    ``not:<node>`` (wrap in NOT, or unwrap a NOT), ``remove:<node>``, ``switch:<group>``."""
    parts = action.split(":")
    nodes = {n.id: n for n in all_nodes(root)}
    fresh = _Ids(1 + max(int(n.id[1:]) for n in nodes.values()))
    if len(parts) == 3 and parts[0] == "add" and parts[2] in LEAVES:
        target = nodes.get(parts[1])
        if target is not None and target.is_group:
            target.children.append(_new_leaf(parts[2], fresh()))
    elif len(parts) == 3 and parts[0] == "group" and parts[2] in GROUPS:
        target = nodes.get(parts[1])
        if target is not None and target.is_group:
            target.children.append(
                Node(fresh(), parts[2], children=[_new_leaf("profile", fresh())])
            )
    elif len(parts) == 2 and parts[0] == "switch":
        target = nodes.get(parts[1])
        if target is not None and target.is_group:
            target.kind = "any" if target.kind == "all" else "all"
    elif len(parts) == 2 and parts[0] in ("not", "remove"):
        _replace(root, parts[1], parts[0], fresh)


def _new_leaf(kind: str, node_id: str) -> Node:
    defaults = {
        "profile": Node(node_id, kind, field="province", op="eq"),
        "attribute": Node(node_id, kind, field="", op="eq"),
        "figure": Node(node_id, kind, field="order_count", op="gte", value="1"),
        "consent": Node(node_id, kind, field="email", status="granted"),
        "event": Node(node_id, kind, name="Product Viewed"),
        "page": Node(node_id, kind, name=""),
        "score": Node(node_id, kind, op="gte"),
        "loyalty": Node(node_id, kind, op="eq"),
    }
    return defaults[kind]


def _replace(parent: Node, node_id: str, how: str, fresh) -> bool:
    for i, child in enumerate(parent.children):
        if child.id == node_id:
            if how == "remove":
                del parent.children[i]
            elif child.is_not:
                parent.children[i] = child.children[0] if child.children else child
            else:
                parent.children[i] = Node(fresh(), "not", children=[child])
            return True
        if _replace(child, node_id, how, fresh):
            return True
    return False


# ---------------------------------------------------------------------------------------
# tree -> definition


def to_definition(root: Node, registries: dict) -> tuple[dict, dict[str, str]]:
    """The JSON definition, and which node each JSON path came from."""
    paths: dict[str, str] = {}
    match = _to_raw(root, "match", paths, registries)
    return {"version": rules.SCHEMA_VERSION, "match": match}, paths


def _to_raw(node: Node, path: str, paths: dict, registries: dict):
    paths[path] = node.id
    if node.is_group:
        return {
            node.kind: [
                _to_raw(c, f"{path}.{node.kind}[{i}]", paths, registries)
                for i, c in enumerate(node.children)
            ]
        }
    if node.is_not:
        child = node.children[0] if node.children else Node(node.id + "x", "all")
        return {"not": _to_raw(child, f"{path}.not", paths, registries)}
    if node.kind == "consent":
        return {"consent": node.field, "status": node.status}
    if node.kind in ("event", "page"):
        raw = {node.kind: node.name, "within_days": _whole(node.days)}
        raw["count"] = {"op": node.count_op or "gte"}
        if node.count_op == "between":
            low, _, high = node.count_value.partition(",")
            raw["count"]["value"] = [_whole(low), _whole(high)]
        else:
            raw["count"]["value"] = _whole(node.count_value)
        if node.category:
            raw["where"] = {"category_prefix": node.category}
        return raw
    kind = field_type(node, registries)
    raw = {node.kind: node.field, "op": node.op}
    if node.op in rules.SET_OPS:
        return raw
    if node.op in ("in", "not_in"):
        raw["value"] = [_typed(kind, v) for v in split_list(node.value)]
    elif node.op == "between":
        raw["value"] = [_typed(kind, node.value), _typed(kind, node.value2)]
    else:
        raw["value"] = _typed(kind, node.value)
    return raw


def field_type(node: Node, registries: dict) -> str:
    """The rules type of a leaf's field (``rules.TEXT``, ``NUMBER``...)."""
    if node.kind == "profile":
        return rules.PROFILE_TYPES.get(node.field, rules.TEXT)
    if node.kind == "figure":
        return rules.FIGURE_TYPES.get(node.field, rules.NUMBER)
    if node.kind == "attribute":
        return {"number": rules.NUMBER, "bool": rules.BOOL}.get(node.value_type, rules.TEXT)
    spec = registries.get(node.kind, {}).get(node.field)
    return rules.REGISTRY_TYPES.get(spec.kind, rules.TEXT) if spec else rules.TEXT


def _whole(text):
    text = str(text).strip()
    return int(text) if re.fullmatch(r"-?\d{1,30}", text) else text


def _typed(kind: str, text: str):
    """The JSON value for a typed input; left as text when it does not parse, so that
    validation names the node."""
    text = text.strip()
    if kind in (rules.COUNT, rules.DAYS, rules.MONTH):
        return _whole(text)
    if kind == rules.BOOL:
        return {"true": True, "false": False}.get(text.lower(), text)
    if kind == rules.NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        return int(number) if number == number.to_integral_value() else float(number)
    return text


def place_error(root: Node, paths: dict[str, str], error: rules.DefinitionError) -> Node:
    """Put the message on the node the error's path names (the deepest known prefix)."""
    nodes = {n.id: n for n in all_nodes(root)}
    path = error.path
    while path:
        if path in paths:
            node = nodes.get(paths[path], root)
            rest = error.path[len(path) :].lstrip(".")
            text = error.text.localized(with_subject=False)
            node.error = f"{rest}: {text}" if rest else text
            return node
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    root.error = error.text.localized()
    return root
