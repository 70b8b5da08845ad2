from django.apps import AppConfig


class AiAssistConfig(AppConfig):
    name = "ai_assist"
    verbose_name = "AI-assist"
