from django.templatetags.static import static


def test_a_static_file_missing_from_the_manifest_is_linked_unhashed():
    assert static("nowhere/not-collected-yet.css") == "/static/nowhere/not-collected-yet.css"
