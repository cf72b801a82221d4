"""The lesson screen's parts, one job each, mixed into `tutor.app.screens.lesson.LessonScreen`:

- `sandboxes.SandboxLife`: open the lesson, start, watch, restart and reset its sandboxes, stop them
- `checking.CheckFlow`: check, the verdict, hints, the reference solution
- `build.BuildWatch`: build-it steps (the learner's editor, watching for saves)
- `layout.LayoutFocus`: layout, focus and the workbench's tabs
- `messages`: what their workers post; `texts`: placeholders and the solution as text (no Textual)
"""
