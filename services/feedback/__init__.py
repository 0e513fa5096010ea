"""Feedback (phản ánh, kiến nghị, hỏi đáp): every channel, a 3-working-day answer clock, public Q&A, ratings."""
