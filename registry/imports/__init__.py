"""Bulk import and export of an organization's facilities (issue 11, item 1).

- `fileformat`: the file's columns and how values are written into cells and read back;
- `reader`: opening a CSV or XLSX file safely (encodings, zip bombs, row limits);
- `writer`: writing CSV (streamed) and XLSX;
- `service`: matching rows to records and applying them through the areas' own services;
- `routes`, `cli`: the API and `flask --app wsgi facilities import|export`.
"""
