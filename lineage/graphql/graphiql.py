"""The GraphiQL page served by ``GET /graphql``.

GraphiQL, React and ReactDOM load from unpkg.com in the user's browser, pinned to exact
versions with Subresource Integrity hashes, so a changed file is refused rather than run. The
hashes are the SHA-384 of the files inside the packages npm verified (``npm pack graphiql@3.8.3
react@18.3.1 react-dom@18.3.1``), which unpkg serves as they are. Without internet (a regulated
network) the page says so in words and points to the server's own pages: the web view at
``/ui`` and the plain query page ``/ui/query``, which need nothing from outside. Paste a token
into the headers editor as ``{"Authorization": "Bearer lin_..."}``.
"""

from __future__ import annotations

GRAPHIQL_VERSION = "3.8.3"
REACT_VERSION = "18.3.1"
ASSET_TIMEOUT_MS = 8000  # after this, assets that neither loaded nor failed count as failed

ASSETS = {
    "css": (
        f"https://unpkg.com/graphiql@{GRAPHIQL_VERSION}/graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
    "react": (
        f"https://unpkg.com/react@{REACT_VERSION}/umd/react.production.min.js",
        "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
    ),
    "react-dom": (
        f"https://unpkg.com/react-dom@{REACT_VERSION}/umd/react-dom.production.min.js",
        "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
    ),
    "graphiql": (
        f"https://unpkg.com/graphiql@{GRAPHIQL_VERSION}/graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
}


def _script(name: str) -> str:
    url, digest = ASSETS[name]
    return (
        f'<script src="{url}" integrity="{digest}" crossorigin="anonymous" '
        f'onerror="assetFailed(\'{name}\')"></script>'
    )


_CSS_URL, _CSS_HASH = ASSETS["css"]

GRAPHIQL_HTML = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>lineage: GraphiQL</title>
    <style>
      body {{ margin: 0; height: 100vh; font-family: "DejaVu Sans", Arial, sans-serif; }}
      #graphiql {{ height: 100vh; }}
      #offline {{ max-width: 46em; margin: 3em auto; padding: 0 1em; line-height: 1.5; }}
      #offline h1 {{ font-size: 1.4em; }}
    </style>
    <script>
      // Ours, inline: runs before the CDN scripts so their onerror can call it.
      var failed = [];
      function assetFailed(name) {{
        if (failed.indexOf(name) < 0) failed.push(name);
        var why = document.getElementById("why");
        if (why) why.textContent = "Could not load: " + failed.join(", ") +
          " (from unpkg.com, pinned to GraphiQL {GRAPHIQL_VERSION} and React {REACT_VERSION}" +
          " with integrity hashes).";
        var status = document.getElementById("status");
        if (status) status.textContent = "GraphiQL cannot run here.";
      }}
      setTimeout(function () {{
        if (typeof GraphiQL === "undefined") assetFailed("graphiql (no answer in time)");
      }}, {ASSET_TIMEOUT_MS});
    </script>
    <link rel="stylesheet" href="{_CSS_URL}" integrity="{_CSS_HASH}" crossorigin="anonymous" />
  </head>
  <body>
    <div id="graphiql">
      <div id="offline">
        <h1 id="status">Loading GraphiQL from unpkg.com …</h1>
        <p id="why">GraphiQL's scripts come from the internet (unpkg.com). If this page stays
        like this, this network cannot reach it, or a script was blocked.</p>
        <p>Everything works without it, served by this server alone:</p>
        <ul>
          <li><a href="/ui">the web view (/ui)</a>: search, node pages with their provenance
          drawn, models, decisions, upstream changes, incidents;</li>
          <li><a href="/ui/query">the plain query page (/ui/query)</a>: write or pick a saved
          operation, and run it with your token.</li>
        </ul>
        <noscript><p><strong>Scripts are off:</strong> GraphiQL needs them; the pages above
        do not.</p></noscript>
      </div>
    </div>
    {_script("react")}
    {_script("react-dom")}
    {_script("graphiql")}
    <script>
      if (typeof GraphiQL !== "undefined" && typeof React !== "undefined") {{
        const fetcher = GraphiQL.createFetcher({{ url: window.location.pathname }});
        const headers = JSON.stringify({{ Authorization: "Bearer <paste a token here>" }}, null, 2);
        ReactDOM.createRoot(document.getElementById("graphiql")).render(
          React.createElement(GraphiQL, {{
            fetcher,
            defaultHeaders: headers,
            shouldPersistHeaders: false,
            defaultEditorToolsVisibility: "headers",
          }}),
        );
      }}
    </script>
  </body>
</html>
"""
