"""The hello sample plugin."""
