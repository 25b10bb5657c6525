"""The item page (run by st.navigation; the logic lives in verify.ui.views.item)."""

from verify.ui.views.item import render

if __name__ == "__main__":
    render()
