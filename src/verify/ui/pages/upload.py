"""The upload page (run by st.navigation; the logic lives in verify.ui.views.upload)."""

from verify.ui.views.upload import render

if __name__ == "__main__":
    render()
