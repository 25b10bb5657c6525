"""Links: fetch a post's media with its provenance, and import captures made elsewhere.

One module per job: ``fetch`` (the only code that opens network connections, with its limits and
request log), ``page`` (what an HTML page says about itself and which media it carries),
``platform`` (yt-dlp as a library, for platforms and generic pages), ``capture`` (a WARC of the
page, kept as evidence), ``imports`` (yt-dlp folders, WACZ and WARC files made elsewhere) and
``provenance`` (the record kept with each item). Nothing here touches the store: ``Services``
takes what these return and ingests it like any upload.
"""
