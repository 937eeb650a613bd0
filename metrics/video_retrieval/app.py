import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load("video_retrieval.py")
launch_gradio_widget(module)
