"""Keyboard review of a list of items (the approval queue, the returns queue): one
document listener for every such page, each page registering its keys.

A page marks each item with ``item_attrs()`` (focusable, ``data-key-item``) and, on
load, returns ``rx.call_script(list_keys(...))``.  On a focused item ``j`` / ``k``
move to the next / previous one (from nowhere: the first); every other key clicks the
button its ``KeyAction`` names inside the focused item, then optionally focuses a field
(e.g. the reason of a deny dialog, which Radix would otherwise give to Cancel); after an
action that takes the item out of the list the focus stays at its place, on the next.

Keys do nothing while a field, a select or a dialog has the focus, nor with Ctrl, Alt
or Meta held (the browser's own shortcuts)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

ITEM_ATTR = "data-key-item"

_LISTENER_JS = """
(function () {
  window.__hotleadKeys = window.__hotleadKeys || {};
  window.__hotleadKeys[%(path)s] = %(config)s;
  if (window.__hotleadKeysInstalled) return;
  window.__hotleadKeysInstalled = true;
  function focusSoon(selector) {
    // The dialog opens after a round trip to the server, and Radix focuses its own
    // button when it opens: keep putting the focus on the field for a moment, until
    // the person presses a key or the mouse.
    var tries = 0, settled = 0, stopped = false;
    function stop() { stopped = true; }
    document.addEventListener('keydown', stop, { once: true, capture: true });
    document.addEventListener('pointerdown', stop, { once: true, capture: true });
    var timer = setInterval(function () {
      tries += 1;
      var el = document.querySelector(selector);
      if (el && !stopped) {
        if (document.activeElement !== el) el.focus();
        settled += 1;
      }
      if (stopped || settled >= 10 || tries > 100) {
        clearInterval(timer);
        document.removeEventListener('keydown', stop, { capture: true });
        document.removeEventListener('pointerdown', stop, { capture: true });
      }
    }, 50);
  }
  function keepPlace(i, count) {
    // The list reloads after the action: the rows are keyed by position, so the item
    // now at this position (the next one) keeps or takes the focus; when the list
    // shrank past it, the last item takes it.
    var tries = 0;
    var timer = setInterval(function () {
      tries += 1;
      var items = document.querySelectorAll('[%(attr)s]');
      if (items.length !== count || tries > 100) {
        clearInterval(timer);
        var a = document.activeElement;
        var lost = !a || a === document.body || !(a.closest && a.closest('[%(attr)s]'));
        if (items.length && lost && !document.querySelector('[role=alertdialog], [role=dialog]')) {
          items[Math.min(i, items.length - 1)].focus();
        }
      }
    }, 100);
  }
  document.addEventListener('keydown', function (e) {
    var path = window.location.pathname, config = null;
    Object.keys(window.__hotleadKeys).forEach(function (p) {
      if (path === p || path.indexOf(p + '/') === 0) config = window.__hotleadKeys[p];
    });
    if (!config) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target || {};
    var tag = (t.tagName || '').toLowerCase();
    if (tag === 'input' || tag === 'textarea' || tag === 'select' || t.isContentEditable) return;
    if (t.closest && t.closest('[role=combobox], [role=listbox]')) return;
    if (document.querySelector('[role=alertdialog], [role=dialog]')) return;
    var items = Array.prototype.slice.call(document.querySelectorAll('[%(attr)s]'));
    if (!items.length) return;
    var current = t.closest ? t.closest('[%(attr)s]') : null;
    var i = items.indexOf(current);
    function go(n) { n = Math.max(0, Math.min(items.length - 1, n)); items[n].focus(); }
    var key = e.key;
    if (key === 'j') { e.preventDefault(); go(i < 0 ? 0 : i + 1); return; }
    if (key === 'k') { e.preventDefault(); go(i < 0 ? 0 : i - 1); return; }
    var action = config[key];
    if (!current || !action) return;
    var button = current.querySelector(action.click);
    if (!button || button.disabled) return;
    e.preventDefault();
    button.click();
    if (action.removes) keepPlace(i, items.length);
    if (action.focus) focusSoon(action.focus);
  });
})();
"""


@dataclass(frozen=True)
class KeyAction:
    """What a key does on the focused item: click the button ``click`` (a CSS selector
    inside the item); then focus ``focus`` (a selector in the document) if given.
    ``removes``: the action takes the item out of the list; the focus stays at its
    place, on the next item."""

    click: str
    focus: str = ""
    removes: bool = False


def list_keys(path: str, actions: Mapping[str, KeyAction]) -> str:
    """The script that gives the page at ``path`` its keys (run it on every load: it
    installs the one listener once and (re)registers this page's keys)."""
    for key in actions:
        if len(key) != 1 or key in "jk":
            raise ValueError(f"a key is one character other than j and k, not {key!r}")
    config = {key: {"click": a.click, "focus": a.focus, "removes": a.removes} for key, a in actions.items()}
    return _LISTENER_JS % {"path": json.dumps(path), "config": json.dumps(config), "attr": ITEM_ATTR}


def item_attrs() -> dict[str, object]:
    """The ``custom_attrs`` of one item of such a list: reachable by Tab and by j / k."""
    return {"tabIndex": 0, ITEM_ATTR: "1"}
