"""What every HTTP app of embver shares: the request guards of :mod:`embver.web.security`.

``embver ui`` (:mod:`embver.server`) and ``embver serve`` (:mod:`embver.serve`) sit side
by side in the layers and may not import each other; both stand behind these guards.
Standard library only, so the CLI imports it without loading a web framework.
"""
