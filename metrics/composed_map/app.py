import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load("composed_map.py")
launch_gradio_widget(module)
