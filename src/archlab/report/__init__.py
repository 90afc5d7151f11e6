"""The run report: what a run shows gathered once (data, sections, figures), rendered by Jinja templates
to HTML and Markdown, with reproduction bundles beside it. Reads the store; never runs generated code."""
