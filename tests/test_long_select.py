"""A select for long lists (a company's suppliers, its purchase orders) writes its options in code
instead of one template each: the same HTML as Django's own select, at a fraction of the cost."""

from django import forms
from django.test import SimpleTestCase

from procuresync.web import LongSelect

CHOICES = [
    ("", "All suppliers"),
    (1, "Acme & Sons <Ltd>"),
    (2, 'Globex "Paper"'),
    ("Archived", [(3, "Initech"), (4, "Umbrella")]),
]


class LongSelectTest(SimpleTestCase):
    def test_given_choices_with_a_group_and_markup_when_one_is_chosen_then_the_html_is_djangos_own(self):
        for value in (None, "", 2, "4"):
            attrs = {"id": "id_supplier", "class": "wide", "required": True, "disabled": False}
            theirs = forms.Select(choices=CHOICES).render("supplier", value, attrs=attrs)
            ours = LongSelect(choices=CHOICES).render("supplier", value, attrs=attrs)

            self.assertHTMLEqual(ours, theirs)

    def test_given_a_chosen_supplier_then_exactly_that_option_is_selected_and_names_are_escaped(self):
        html = LongSelect(choices=CHOICES).render("supplier", 2)

        self.assertIn('<option value="2" selected>Globex &quot;Paper&quot;</option>', html)
        self.assertIn('<option value="1">Acme &amp; Sons &lt;Ltd&gt;</option>', html)
        self.assertEqual(html.count(" selected"), 1)

    def test_given_a_form_field_then_its_bound_field_renders_through_it(self):
        class SupplierFilter(forms.Form):
            supplier = forms.ChoiceField(choices=CHOICES, required=False, widget=LongSelect)

        html = str(SupplierFilter({"supplier": "3"})["supplier"])

        self.assertIn('<select name="supplier" id="id_supplier">', html)
        self.assertIn('<optgroup label="Archived"><option value="3" selected>Initech</option>', html)
