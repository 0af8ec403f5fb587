"""The dashboard in Streamlit: slider and selectbox rerun the script; st.dataframe, st.line_chart."""

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _data import ROWS, WAVES, series  # noqa: E402

wave = st.selectbox("Wave", WAVES, key="wave")
frequency = st.slider("Frequency", 1, 20, 3, key="frequency")
xs, ys = series(wave, frequency)
frame = pd.DataFrame({"x": xs, "y": ys})
with st.container(key="chart"):
    st.line_chart(frame, x="x", y="y")
with st.container(key="table"):
    st.dataframe(frame.head(ROWS))
