"""The matches page (run by st.navigation; the logic lives in verify.ui.views.matches)."""

from verify.ui.views.matches import render

if __name__ == "__main__":
    render()
