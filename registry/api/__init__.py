"""The thin HTTP layer every resource area shares, one module per concern.

- `router`: the flask-restx Api object (the router under `API_PREFIX` and the document
  generator); every error goes to errors.py.
- `document`: the bridge from marshmallow schemas to the API document, so a shape is defined
  exactly once; `doc` for what a view documents by hand.
- `inputs`: `body`, `query` and `form` validate a request with marshmallow and document it.
- `outputs`: `returns` serializes a record with its ETag; `conditional` answers 304;
  `require_if_match` guards every write.
- `pagination`: `Page`, `returns_page` and the page arguments of every list.
- `crud_routes`: the route factories each area's routes.py calls for the CRUD shape they share.
"""
