"""The GraphiQL page served by ``GET /graphql``.

The page loads GraphiQL from a CDN in the user's browser; the server itself needs no network.
Paste a token into the headers editor as ``{"Authorization": "Bearer lin_..."}``.
"""

from __future__ import annotations

GRAPHIQL_HTML = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>lineage: GraphiQL</title>
    <style>
      body { margin: 0; height: 100vh; }
      #graphiql { height: 100vh; }
    </style>
    <link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css" />
    <script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
    <script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js">
    </script>
    <script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL from unpkg.com ...</div>
    <script>
      const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
      const headers = JSON.stringify({ Authorization: "Bearer <paste a token here>" }, null, 2);
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {
          fetcher,
          defaultHeaders: headers,
          shouldPersistHeaders: false,
          defaultEditorToolsVisibility: "headers",
        }),
      );
    </script>
  </body>
</html>
"""
