"""``/admin/niches``: niches (their public form, open or closed) and, per niche, its
competition levels.  The form editor builds the field list row by row (no JSON).

One module per part of the page, each with its Reflex substate of ``NichesState``:

- ``state``: ``NichesState``, the list of niches (loaded with the page), open / close;
- ``field_editor``: ``FieldEditor``, a niche's slug, name and form fields, row by row;
- ``levels``: ``Levels``, the competition levels of the niche picked in the list;
- ``listing``: the niches table; ``page``: the page itself."""

from hotlead_app.pages.admin_niches import page as page
