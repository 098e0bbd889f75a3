"""``tunesmith ui``: web pages to review Q&A records, browse runs and ask a guarded question.

    from tunesmith.ui import create_app
    app = create_app(config)      # a FastAPI app; `tunesmith ui CONFIG` serves it with uvicorn
"""

from tunesmith.ui.app import create_app

__all__ = ["create_app"]
